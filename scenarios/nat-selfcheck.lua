-- nat-selfcheck.lua - does every NAT preset behave as it claims?
--
-- One host behind each preset (open: a public host; cgnat: a home NAT behind
-- a carrier NAT) runs natlab-probe (RFC 5780 behaviour discovery) against a
-- STUN server with two public addresses (-p servers=natlab: natlab-stun-
-- server; coturn: coturn's turnserver with RFC 5780 on); when Debian's
-- classic RFC 3489 client `stun` and its server `stund` are installed, the
-- classic verdict is taken too, from a second server host. When they are
-- not, the cell still judges the probe, and its message and `classic`
-- observation say the second opinion was skipped and which package to
-- install (never a silent pass). Each measured knob is
-- compared with the preset's claim (docs/nat-model.md, "Presets"): UDP
-- through or not, mapping, filtering, port assignment, hairpinning. A cell
-- fails naming every knob that differs; observations keep the probe's whole
-- JSON (`probe`), the claim (`claim`), the classic verdict (`classic`).
--
--   natlab run nat-selfcheck                 # all nine presets
--   natlab run nat-selfcheck -p nat=symmetric
natlab.scen.use_dir()
local S = natlab.scen

local EI, AD, APD = "endpoint-independent", "address-dependent", "address-and-port-dependent"
-- What each preset claims, as natlab-probe reports it. cgnat is measured
-- from a host behind the home NAT: the carrier keeps the home's
-- endpoint-independent mapping but draws random ports, and both filter
-- per address and port.
local CLAIM = {
  ["open"] = { udp = true, nat = false, mapping = EI, filtering = EI, ports = "preserved", hairpin = true },
  ["full-cone"] = { udp = true, nat = true, mapping = EI, filtering = EI, ports = "preserved", hairpin = true },
  ["restricted-cone"] = { udp = true, nat = true, mapping = EI, filtering = AD, ports = "preserved", hairpin = true },
  ["port-restricted-cone"] = { udp = true, nat = true, mapping = EI, filtering = APD, ports = "preserved", hairpin = true },
  ["address-dependent"] = { udp = true, nat = true, mapping = AD, filtering = AD, ports = "sequential", hairpin = false },
  ["symmetric"] = { udp = true, nat = true, mapping = APD, filtering = APD, ports = "random", hairpin = false },
  ["cgnat"] = { udp = true, nat = true, mapping = EI, filtering = APD, ports = "random", hairpin = true },
  ["udp-blocked"] = { udp = false },
  ["tcp-web-only"] = { udp = false },
}
-- The classic client's first line per preset (tests/ns/nat_stun_classic.c
-- measured the same words against stund).
local CLASSIC = {
  ["open"] = "Open",
  ["full-cone"] = "Independent Mapping, Independent Filter",
  ["restricted-cone"] = "Independent Mapping, Address Dependent Filter",
  ["port-restricted-cone"] = "Independent Mapping, Port Dependent Filter",
  ["symmetric"] = "Dependent Mapping",
  ["udp-blocked"] = "Blocked",
  ["tcp-web-only"] = "Blocked",
}

local PRESETS = { "open", "full-cone", "restricted-cone", "port-restricted-cone",
                  "address-dependent", "symmetric", "cgnat", "udp-blocked", "tcp-web-only" }

-- A public host with a second address (198.51.100.N/32, routed by the core
-- through the host's link): RFC 5780 and RFC 3489 servers need two.
local function two_address_host(net, name, n)
  net:public_host(name)
  local second = "198.51.100." .. n
  net.nodes[name]:addr("eth0", second .. "/32")
  net:internet():route(second .. "/32", net.addr[name])
  return net.addr[name], second
end

scenario {
  name = "nat-selfcheck",
  description = "every NAT preset probed (natlab-probe, and the classic stun client when installed): measured vs claimed",
  params = {
    nat = { kind = "nat_preset", description = "NAT preset in front of the probing host", default = "port-restricted-cone" },
    classic = { description = "also run the classic RFC 3489 client when installed", default = true },
    servers = { description = "STUN server implementation: natlab or coturn", default = "natlab" },
  },
  matrix = { nat = PRESETS },
  grid = { name = "nat-selfcheck: probe verdict (pass = every knob as claimed)", rows = "nat", split = { "servers" } },
  timeout_ms = 40000,

  network = function(p)
    S.need_lab()
    local net = natlab.net()
    net:internet()
    S.side(net, "client", p.nat)
    local _, a2 = two_address_host(net, "stun", 1)
    if p.servers == "natlab" and not natlab.bin("natlab-stun-server") then
      natlab.skip("natlab-stun-server is not built")
    end
    local srv, err = natlab.server(net, "stun", "stun", { impl = p.servers, alt_addr = a2 })
    if not srv then error("STUN server (" .. tostring(p.servers) .. "): " .. tostring(err), 0) end
    net.stun_srv = srv -- referenced for the whole cell
    if p.classic then
      local missing = {}
      if not natlab.bin("stun") then missing[#missing + 1] = "stun-client" end
      if not natlab.bin("stund") then missing[#missing + 1] = "stun-server" end
      if #missing == 0 then
        local c1, c2 = two_address_host(net, "classic", 2)
        net.nodes.classic:spawn({ natlab.bin("stund"), "-h", c1, "-a", c2 }, { name = "stund", stdio = "null" })
        net.classic = c1
      else
        net.classic_skipped = "classic second opinion skipped: the " ..
          (missing[1] == "stun-client" and "stun client" or "stund server") ..
          " is not installed (apt-get install " .. table.concat(missing, " ") .. ")"
      end
    end
    return net
  end,

  run = function(net, p)
    if not natlab.bin("natlab-probe") then natlab.skip("natlab-probe is not built") end
    local claim = CLAIM[p.nat]
    if not claim then natlab.skip("no claim recorded for preset " .. p.nat) end
    local pr = net.nodes.client:spawn({ natlab.bin("natlab-probe"), "--server", net.addr.stun .. ":3478",
                                        "--rto-ms", "100", "--attempts", "3" }, { name = "probe" })
    local m = pr:event(20000)
    if not m or m.probe ~= "natlab-probe" then natlab.fail("natlab-probe gave no verdict") end
    natlab.observe("probe", m)
    natlab.observe("claim", claim)
    local measured = { udp = m.udp, nat = m.nat, mapping = m.mapping, filtering = m.filtering,
                       ports = m.port_assignment and m.port_assignment.pattern, hairpin = m.hairpinning }
    natlab.observe("measured", measured)
    local wrong = {}
    for _, k in ipairs({ "udp", "nat", "mapping", "filtering", "ports", "hairpin" }) do
      if claim[k] ~= nil and measured[k] ~= claim[k] then
        wrong[#wrong + 1] = string.format("%s: measured %s, claimed %s", k, tostring(measured[k]), tostring(claim[k]))
      end
    end
    local path = not m.udp and "failed" or (m.nat and "srflx" or "host")
    local rec = { path = path, connect_ms = m.duration_ms }
    -- the classic client, when present: its first verdict line
    if net.classic then
      local c = net.nodes.client:spawn({ natlab.bin("stun"), net.classic }, { name = "stun-classic" })
      local lines = {}
      while true do
        local l = c:line(15000)
        if not l then break end
        lines[#lines + 1] = l
      end
      c:wait(2000)
      local verdict = table.concat(lines, " | ")
      natlab.observe("classic", verdict)
      local want = CLASSIC[p.nat]
      if want and not verdict:find(want, 1, true) then
        wrong[#wrong + 1] = string.format("classic stun: '%s', claimed '%s'", verdict, want)
      end
    end
    if net.classic_skipped then
      natlab.observe("classic", net.classic_skipped)
      natlab.log(net.classic_skipped)
    end
    if #wrong > 0 then
      rec.outcome = "fail"
      rec.message = p.nat .. " does not behave as claimed: " .. table.concat(wrong, "; ")
    elseif net.classic_skipped then
      rec.message = "probe as claimed; " .. net.classic_skipped
    end
    if #wrong > 0 and net.classic_skipped then
      rec.message = rec.message .. " (" .. net.classic_skipped .. ")"
    end
    natlab.result(rec)
  end,
}
