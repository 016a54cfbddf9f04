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

-- The presets whose side lets no UDP out: TURN over TCP or TLS is its way
-- out (rule 6 of docs/expected-matrix.md).
local NO_UDP = { ["udp-blocked"] = true, ["tcp-web-only"] = true }

-- adjust(row, col, expected, cap) -> expected | nil, why
-- The grid assumes what natlab-ice does by default: TURN over UDP, TCP and
-- TLS, no ICE-TCP. What the two agents declared in `ready` (cap(side, name)
-- -> true, false or nil for "not declared"; sides "left" = row, "right" =
-- col) changes the cells it must (docs/expected-matrix.md, "Capabilities"):
--   * both declare ICE-TCP: open x udp-blocked is direct, over TCP (the
--     blocked side's active TCP candidate reaches the open side's passive
--     host candidate; RFC 6544). tcp-web-only still is not: the passive
--     port is neither 80 nor 443.
--   * a relay over UDP where neither side declares TURN over UDP: the
--     relay is reached over TCP/TLS instead, or there is none.
--   * a side without UDP that declares neither TURN over TCP nor TLS has
--     no way out: the cell is unsupported (nil and why).
-- A capability not declared (nil) counts as present: the agent is judged
-- on what it does, and fails if it cannot.
local function adjust(row, col, exp, cap)
  local sides = { { "left", row }, { "right", col } }
  local function lacks(side, ...)
    for _, name in ipairs({ ... }) do
      if cap(side, name) ~= false then return false end
    end
    return true
  end
  if cap("left", "ice-tcp") and cap("right", "ice-tcp") and
     ((row == "udp-blocked" and col == "open") or (row == "open" and col == "udp-blocked")) then
    return D
  end
  for _, s in ipairs(sides) do
    if NO_UDP[s[2]] and lacks(s[1], "turn-tcp", "turn-tls") then
      return nil, string.format("%s (behind %s) declares neither TURN over TCP nor TURN over TLS, " ..
        "its only way out", s[1], s[2])
    end
  end
  if exp == R and lacks("left", "turn-udp") and lacks("right", "turn-udp") then
    if lacks("left", "turn-tcp", "turn-tls") and lacks("right", "turn-tcp", "turn-tls") then
      return nil, "neither side declares TURN, and this pair of NATs needs a relay"
    end
    return T
  end
  return exp
end

return {
	adjust = adjust,
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
