-- dual-stack.lua - IPv4+IPv6, IPv6-only and IPv4-only peers.
--
-- Two hosts behind port-restricted-cone NATs. natlab NATs translate IPv4
-- and only firewall IPv6 (no NAT66; flows opened from outside are dropped,
-- docs/nat-model.md), so over IPv6 two hosts meet with their own (host)
-- addresses once both have sent, while over IPv4 they meet through their
-- server-reflexive ones.
--   stack = dual     both families; STUN on IPv4 and IPv6: the IPv6 host
--                    pair has the higher priority and must win (path host,
--                    selected addresses IPv6)
--   stack = v6-only  STUN/TURN reachable over IPv6 only (the hosts' IPv4 is
--                    private and unusable): path host over IPv6
--   stack = v4-only  no IPv6 in the lab at all: path srflx over IPv4
-- observations.family is the family of the selected pair.
--
--   natlab run dual-stack
natlab.scen.use_dir()
local S = natlab.scen

local EXPECT = { dual = "host", ["v6-only"] = "host", ["v4-only"] = "srflx" }
local FAMILY = { dual = "ipv6", ["v6-only"] = "ipv6", ["v4-only"] = "ipv4" }

scenario {
  name = "dual-stack",
  description = "IPv4+IPv6, IPv6-only and IPv4-only peers behind NATs (IPv6 routed and firewalled, IPv4 translated)",
  params = {
    stack = { description = "dual, v6-only or v4-only", default = "dual" },
    nat = { description = "NAT preset on both sides", default = "port-restricted-cone" },
    left_impl = { description = "left ICE agent program", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
  },
  matrix = { stack = { "dual", "v6-only", "v4-only" } },
  grid = { name = "dual-stack: path and family", rows = "stack" },
  expect = function(p) return EXPECT[p.stack] end,
  timeout_ms = 30000,

  network = function(p)
    S.need_lab()
    local net = natlab.net { ipv6 = p.stack ~= "v4-only" }
    net:internet()
    S.side(net, "left", p.nat)
    S.side(net, "right", p.nat)
    net:public_host("stun")
    local bin = natlab.bin("natlab-stun-server")
    if not bin then natlab.skip("natlab-stun-server is not built") end
    net.stuns = {}
    local fams = {}
    if p.stack ~= "v6-only" then fams[#fams + 1] = net.addr.stun end
    if p.stack ~= "v4-only" then fams[#fams + 1] = net.addr6.stun end
    for k, a in ipairs(fams) do
      local srv = net.nodes.stun:spawn({ bin, "--addr", a, "--port", "3478" }, { name = "stun-server" .. k })
      local ev = srv:event(5000)
      if not ev or ev.ev ~= "ready" then error("natlab-stun-server on " .. a .. " did not get ready", 0) end
      net.stuns[#net.stuns + 1] = (a:find(":") and "[" .. a .. "]" or a) .. ":3478"
    end
    return net
  end,

  run = function(net, p, cell)
    local args = { "--ta-ms", "10", "--rto-ms", "100", "--nominate-wait-ms", "300" }
    local l = S.agent(net, "left", p.left_impl, { role = "controlling", name = "left", stun = net.stuns,
                                                  turn = false, args = args }, cell)
    local r = S.agent(net, "right", p.right_impl, { role = "controlled", name = "right", stun = net.stuns,
                                                    turn = false, args = args }, cell)
    local res = natlab.ice_connect(l, r, { timeout_ms = 10000, names = { "left", "right" } })
    if res.ok then
      local addr = res.selected.left and res.selected.left.remote and res.selected.left.remote.address or ""
      local fam = addr:find(":") and "ipv6" or "ipv4"
      natlab.observe("family", fam)
      natlab.observe("two_way", S.two_way(l, r))
      if fam ~= FAMILY[p.stack] then
        natlab.result { outcome = "fail", message = "selected an " .. fam .. " pair, expected " .. FAMILY[p.stack] }
      end
    end
    S.stop({ l, r })
  end,
}
