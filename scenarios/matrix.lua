-- matrix.lua - THE DEFAULT RUN (scripts/run-default): every NAT preset
-- against every NAT preset, two ICE agents (natlab-ice unless -p
-- left_impl=/right_impl= name another), a STUN server and a TURN server
-- (UDP and TCP on 3478, TCP on 80, TLS on 5349 and 443) on the internet.
--
-- Each cell passes when
--   1. both agents select a pair (trickle by default, -p trickle=false for
--      full gathering; regular nomination),
--   2. data flows both ways over it (numbered datagrams, rx on each side), and
--   3. the path class the lab saw the data take on the wire (the settled
--      path, natlab.wire) equals scenarios/matrix_expected.lua's: "direct"
--      (host/srflx/prflx), "relay" (TURN over UDP) or "relay-tcp" (TURN over
--      TCP or TLS). A relay where a direct path is expected FAILS, and so
--      does an agent's claim (selected/switched) that the wire contradicts.
-- docs/expected-matrix.md derives every expected cell from RFC 4787
-- behaviours; the report shows the class, observations keep the exact path
-- (srflx, prflx, relay-tls, ...), the selected pair and the data counts.
--
--   natlab run scenarios/matrix.lua                      # 81 cells
--   natlab run scenarios/matrix.lua -p left=symmetric    # one row
--   natlab run scenarios/matrix.lua --trials 5           # connect-time spread
--   natlab run scenarios/matrix.lua -p left_impl=natlab-ice,nice -p right_impl=natlab-ice,nice
--                      # implementation x implementation: one 9 x 9 grid per pair
--   natlab run scenarios/matrix.lua -p servers=coturn    # against coturn's turnserver
--   natlab run scenarios/matrix.lua -p dataplane=datachannel
--                      # data over a WebRTC data channel (DTLS + SCTP) instead of datagrams
--                      # (by default the harness picks the plane both agents offer:
--                      # datagram, else datachannel, else none: consent checks)
natlab.scen.use_dir()
local S = natlab.scen
local EXPECT = S.expected_table()

-- the cell is natlab.scen.call_* (scenarios/prelude/45_call.lua), shared
-- with scenarios/interop.lua
scenario {
  name = "matrix",
  description = "every NAT preset x every NAT preset: ICE path and two-way data against the expected-outcome table",
  params = S.call_params(),
  matrix = { left = EXPECT.order, right = EXPECT.order },
  -- sweeping left_impl/right_impl (or servers) draws one preset x preset
  -- grid per implementation pair instead of folding the pairs into one square
  grid = { name = "matrix: path class (expected from scenarios/matrix_expected.lua)", rows = "left", cols = "right",
           split = { "left_impl", "right_impl", "servers" } },
  -- and, over them, implementation x implementation pass rates
  summary = { name = "matrix: implementation x implementation (pass rate over the applicable cells)",
              rows = "left_impl", cols = "right_impl" },
  expect = S.call_expect(EXPECT),
  timeout_ms = 30000,
  network = S.call_network,
  run = S.call_run(EXPECT),
}
