-- ice.lua - two ICE agents, each behind its own NAT, signalling relayed by
-- the harness; the grid is left NAT x right NAT, each square the path the
-- pair settled on. A STUN server and a TURN server stand on the internet.
-- The expected paths follow from the NAT behaviours (docs/nat-model.md):
-- two endpoint-independent mappings meet through their srflx candidates;
-- an address-and-port-dependent (symmetric) mapping opens a fresh port
-- towards the peer, which the peer learns as prflx -- if the peer's NAT
-- lets it in: address-and-port-dependent filtering (port-restricted cone,
-- "easy") only admits the exact port it sent to, so easy x hard and
-- hard x hard need a relay; with UDP blocked only TURN over TCP is left.
local EXPECT = {
  ["full-cone"] = { ["*"] = "srflx", ["hard"] = "prflx", ["udp-blocked"] = "relay-tcp" },
  ["restricted-cone"] = { ["*"] = "srflx", ["hard"] = "prflx", ["udp-blocked"] = "relay-tcp" },
  ["easy"] = { ["*"] = "srflx", ["hard"] = "relay-udp", ["udp-blocked"] = "relay-tcp" },
  ["hard"] = { ["*"] = "prflx", ["easy"] = "relay-udp", ["hard"] = "relay-udp", ["udp-blocked"] = "relay-tcp" },
  ["udp-blocked"] = { ["*"] = "relay-tcp" },
}

scenario {
  name = "ice",
  description = "ICE between two NATs with STUN and TURN on the internet: which path does each pair take?",
  params = {
    left = { kind = "nat_preset", description = "left NAT preset", default = "easy" },
    right = { kind = "nat_preset", description = "right NAT preset", default = "easy" },
    impl = { description = "agent program (speaks docs/agent-protocol.md)", default = "natlab-ice" },
    trickle = { description = "trickle candidates (RFC 8838) instead of full gathering", default = false },
    timeout_ms = { description = "time allowed to select a pair", default = 15000 },
    wire = { description = "check the agents' claimed pairs on the wire (false: believe them)", default = true },
  },
  matrix = { left = { "easy", "hard" }, right = { "easy", "hard" } },
  grid = { rows = "left", cols = "right" },
  expect = function(p)
    return natlab.lookup(EXPECT, p.left, p.right)
  end,
  timeout_ms = 40000,

  network = function(p)
    if not (natlab.features.route and natlab.features.nat) then
      natlab.skip("this natlab was built without emu routes or NATs")
    end
    local net = natlab.net()
    net:public_host("stun")
    net:public_host("turn")
    local function side(name, preset)
      local nat = net:nat(name .. "-nat", preset)
      return net:host(name, nat)
    end
    side("left", p.left)
    side("right", p.right)
    if natlab.bin("natlab-stun-server") then
      net.stun_proc = assert(natlab.server(net, "stun", "stun"))
    end
    if natlab.bin("natlab-turn-server") then
      net.turn_proc = assert(natlab.server(net, "turn", "turn"))
    end
    -- the lab's own view of the data (docs/expected-matrix.md, "Verdicts")
    net.wire = natlab.scen.watch(net, { "left", "right" }, p)
    return net
  end,

  run = function(net, p, cell)
    if not natlab.bin(p.impl) then natlab.skip(p.impl .. " is not built yet (not in build/bin or PATH)") end
    local function agent(name, role)
      local o = { impl = p.impl, role = role, trickle = p.trickle, name = name,
                  args = { "--seed", tostring(cell.seed % 2147483647) } }
      if net.stun_proc then o.stun = net.addr.stun .. ":3478" end
      if net.turn_proc then
        o.turn = { "udp:" .. net.addr.turn .. ":3478", "tcp:" .. net.addr.turn .. ":3478" }
        o.turn_user, o.turn_pass = "natlab", "natlab"
      end
      return assert(natlab.agent(net, name, o))
    end
    local l = agent("left", "controlling")
    local r = agent("right", "controlled")
    local res = natlab.ice_connect(l, r, { trickle = p.trickle, timeout_ms = p.timeout_ms,
                                           names = { "left", "right" } })
    if res.ok then
      -- a little data over the selected pair, for the data-plane figures;
      -- the wire checks each side's claimed pair meanwhile: the exact path
      -- expected here is only as good as the claims it comes from
      if net.wire then net.wire:snap("data0") end
      l:send { cmd = "send", n = 20, size = 200, interval_ms = 5 }
      local deadline = natlab.now_ms() + 3000
      while natlab.now_ms() < deadline do
        local i, ev = natlab.poll({ l, r }, deadline - natlab.now_ms())
        if not i then break end
        if ev.ev == "selected" or ev.ev == "switched" then natlab.claim(res, i == 1 and "left" or "right", ev) end
        if i == 1 and ev.ev == "data" then natlab.result { data = ev }; break end
      end
      if net.wire then
        local w = net.wire:judge("data0", "data1")
        natlab.result { wire = w }
        local msg = natlab.wire.check_claims(res, w, { "left", "right" }, net.wire:addrs())
        if msg then natlab.result { outcome = "fail", message = msg } end
      end
    end
    for _, a in ipairs({ l, r }) do
      a:send { cmd = "stop" }
      if not a:wait(natlab.stop_grace_ms) then a:kill() end
    end
  end,
}
