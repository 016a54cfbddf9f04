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

-- adjust(row, col, expected, cap, offered) -> expected | nil, why
-- The grid assumes what natlab-ice does by default: TURN over UDP, TCP and
-- TLS, no ICE-TCP. What the two agents declared in `ready` (cap(side, name)
-- -> true, false or nil for "not declared"; sides "left" = row, "right" =
-- col) and the TURN transports the lab offers them (offered: a set of
-- "udp", "tcp", "tls"; nil = all three, scenario param `turn`) change the
-- cells they must (docs/expected-matrix.md, "Capabilities"):
--   * both declare ICE-TCP: open x udp-blocked is direct, over TCP (the
--     blocked side's active TCP candidate reaches the open side's passive
--     host candidate; RFC 6544). tcp-web-only still is not: the passive
--     port is neither 80 nor 443.
--   * a relay over UDP where neither side has TURN over UDP (declared
--     missing, or not offered): the relay is reached over TCP/TLS instead,
--     or there is none.
--   * a side without UDP that has neither TURN over TCP nor TLS has no way
--     out: the cell is unsupported (nil and why).
-- A capability not declared (nil) counts as present: the agent is judged
-- on what it does, and fails if it cannot.
local function adjust(row, col, exp, cap, offered)
  local sides = { { "left", row }, { "right", col } }
  local function lacks(side, ...)
    for _, t in ipairs({ ... }) do
      if (not offered or offered[t]) and cap(side, "turn-" .. t) ~= false then return false end
    end
    return true
  end
  -- why a side has none of the transports named: the lab offers none of
  -- them, or the side declares the offered ones missing
  local function why_not(side, ...)
    local gone, left = {}, {}
    for _, t in ipairs({ ... }) do
      local list = (offered and not offered[t]) and gone or left
      list[#list + 1] = t:upper()
    end
    if #left == 0 then
      return "the lab offers no TURN over " .. table.concat(gone, " or ") .. " (param turn)"
    end
    if #gone == 0 then
      return side .. " declares neither TURN over " .. table.concat(left, " nor TURN over ")
    end
    return side .. " declares no TURN over " .. table.concat(left, " or ") ..
      ", the only one the lab offers (param turn)"
  end
  if cap("left", "ice-tcp") and cap("right", "ice-tcp") and
     ((row == "udp-blocked" and col == "open") or (row == "open" and col == "udp-blocked")) then
    return D
  end
  for _, s in ipairs(sides) do
    if NO_UDP[s[2]] and lacks(s[1], "tcp", "tls") then
      return nil, string.format("%s is behind %s, whose only way out is TURN over TCP or TLS: %s",
        s[1], s[2], why_not(s[1], "tcp", "tls"))
    end
  end
  if exp == R and lacks("left", "udp") and lacks("right", "udp") then
    if lacks("left", "tcp", "tls") and lacks("right", "tcp", "tls") then
      return nil, "neither side has TURN it can use, and this pair of NATs needs a relay"
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
