"""natlabagent - what every Python adapter of natlab shares: the command
line of docs/agent-protocol.md (options), RFC 8839 candidate lines
(candidate), the JSON-lines commands and events (proto) and the numbered,
acknowledged data-plane messages (dataplane).

Standard library only, so an adapter needs nothing beyond its own stack.
"""
