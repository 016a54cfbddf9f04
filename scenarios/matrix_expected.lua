-- The expected outcome of every cell of scenarios/matrix.lua: which kind of
-- path two natlab-ice agents must end up on when one sits behind the row's
-- NAT preset and the other behind the column's, with a STUN server and a
-- TURN server (UDP, TCP and TLS) on the internet.
--
--   direct     a path without a relay: host, srflx or prflx candidates
--   relay      through the TURN server, the agents reaching it over UDP
--   relay-tcp  through the TURN server, at least one agent reaching it over
--              TCP or TLS (its network lets no UDP out)
--
-- docs/expected-matrix.md derives every cell from the NAT behaviours. The
-- grid is symmetric: the path does not depend on which side is controlling.
local D, R, T = "direct", "relay", "relay-tcp"

return {
	order = {
		"open", "full-cone", "restricted-cone", "port-restricted-cone",
		"address-dependent", "symmetric", "cgnat", "udp-blocked", "tcp-web-only",
	},
	grid = {
		--                        open full rest port addr symm cgnat udpb tcpw
		["open"]                 = { D,   D,   D,   D,   D,   D,   D,    T,   T },
		["full-cone"]            = { D,   D,   D,   D,   D,   D,   D,    T,   T },
		["restricted-cone"]      = { D,   D,   D,   D,   D,   D,   D,    T,   T },
		["port-restricted-cone"] = { D,   D,   D,   D,   R,   R,   D,    T,   T },
		["address-dependent"]    = { D,   D,   D,   R,   D,   R,   R,    T,   T },
		["symmetric"]            = { D,   D,   D,   R,   R,   R,   R,    T,   T },
		["cgnat"]                = { D,   D,   D,   D,   R,   R,   D,    T,   T },
		["udp-blocked"]          = { T,   T,   T,   T,   T,   T,   T,    T,   T },
		["tcp-web-only"]         = { T,   T,   T,   T,   T,   T,   T,    T,   T },
	},
}
