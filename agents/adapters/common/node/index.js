// index.js - the Node adapters' shared protocol helper, in one require:
// the command line (args), the pipes (proto), the data plane (dataplane),
// SDP synthesis (sdp) and getStats() → `selected` (stats). See
// docs/adding-an-implementation.md, "Node adapters".
'use strict';

module.exports = {
  args: require('./args.js'),
  proto: require('./proto.js'),
  dataplane: require('./dataplane.js'),
  sdp: require('./sdp.js'),
  stats: require('./stats.js'),
};
