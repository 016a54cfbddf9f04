-- dut.lua - the traversal suite of `natlab dut` (docs/dut.md): the host
-- behind the device under test ("lan", on the interface facing the
-- device's inside) against a peer behind each NAT preset, ICE with a STUN
-- and a TURN server on the lab's internet. The grid is device x peer
-- preset, each square the path the pair settled on, so a vendor sees which
-- peers the device reaches directly and which need a relay.
--
-- It runs only inside `natlab dut`, which lends it two nodes: "lan" (the
-- host behind the device) and "internet" (the core on the interface facing
-- the device's outside, `wan`). Run alone it skips.
--
-- The path is the one the lab saw the data take (natlab.wire): the device's
-- side is watched on the core's `wan` interface, for the device's public
-- address as the lab's own STUN client (node:stun_binding from the LAN
-- host, not an agent) found it; the peer's side at its NAT's outside. A
-- claim the wire contradicts fails the cell.
scenario {
  name = "dut",
  description = "the device under test (natlab dut) against a peer behind each NAT preset",
  params = {
    device = { description = "the device's label in the grid", default = "device" },
    peer = { kind = "nat_preset", description = "the peer's NAT preset", default = "easy" },
    impl = { description = "agent program (speaks docs/agent-protocol.md)", default = "natlab-ice" },
    timeout_ms = { description = "time allowed to select a pair", default = 15000 },
    wan = { description = "the core's interface facing the device's outside (natlab dut sets it)", default = "" },
    wire = { description = "judge the path on the wire (false: the agents' claims only)", default = true },
  },
  matrix = { peer = { "open", "full-cone", "restricted-cone", "port-restricted-cone",
                      "address-dependent", "symmetric", "cgnat", "udp-blocked", "tcp-web-only" } },
  grid = { rows = "device", cols = "peer" },
  timeout_ms = 40000,

  network = function(p)
    local core, lan = natlab.find("internet"), natlab.find("lan")
    if not (core and lan) then
      natlab.skip("the dut scenario runs inside 'natlab dut', which provides the device's nodes")
    end
    local net = natlab.net()
    net.core = core
    core:forwarding(true) -- what net:internet() does for a core of its own
    net.nodes.internet = core
    net.nodes.lan = lan
    net:public_host("stun")
    net:public_host("turn")
    local nat
    if p.peer == "cgnat" then
      -- a home NAT behind the carrier NAT, as the cgnat preset stands for
      local carrier = net:nat("peer-cgn", "cgnat")
      nat = net:nat("peer-nat", "port-restricted-cone", carrier)
    else
      nat = net:nat("peer-nat", p.peer)
    end
    net:host("peer", nat)
    if natlab.bin("natlab-stun-server") then
      net.stun_proc = assert(natlab.server(net, "stun", "stun"))
    end
    if natlab.bin("natlab-turn-server") then
      net.turn_proc = assert(natlab.server(net, "turn", "turn"))
    end
    -- the device's public address, by the lab's own STUN client
    local mapped = net.stun_proc and lan:stun_binding(net.addr.stun, 3478, 2000)
    local dev = mapped and mapped:match("^(.*):%d+$")
    if dev then
      net.wire = natlab.scen.watch(net, { "device", "peer" }, p, {
        points = { device = { name = "internet", addr = dev, ifname = p.wan ~= "" and p.wan or nil },
                   peer = p.peer == "cgnat" and "peer-cgn" or "peer-nat" } })
    end
    natlab.observe("device_public", dev)
    return net
  end,

  run = function(net, p, cell)
    -- a shipped implementation that is missing skips the cell; a path or
    -- name that leads nowhere is an error (natlab.impl_path says which)
    local _, why, known = natlab.impl_path(p.impl)
    if why and known then natlab.skip(why) end
    if why then error(why, 0) end
    local function agent(name, role)
      local o = { impl = p.impl, role = role, name = name,
                  args = { "--seed", tostring(cell.seed % 2147483647) } }
      if net.stun_proc then o.stun = net.addr.stun .. ":3478" end
      if net.turn_proc then
        o.turn = { "udp:" .. net.addr.turn .. ":3478", "tcp:" .. net.addr.turn .. ":3478" }
        o.turn_user, o.turn_pass = "natlab", "natlab"
      end
      return assert(natlab.agent(net, name, o))
    end
    local d = agent("lan", "controlling")
    local r = agent("peer", "controlled")
    local names = { "device", "peer" }
    local res = natlab.ice_connect(d, r, { timeout_ms = p.timeout_ms, names = names })
    if res.ok and net.wire then
      -- a little data both ways, judged where it went (no expected path:
      -- the grid shows what the device allows)
      local flow = natlab.scen.data_phase(net, d, r, res, cell, { names = names })
      natlab.observe("two_way", flow)
      if not flow.ok then
        natlab.result { outcome = "fail", message = string.format(
          "selected %s but data did not flow both ways (device got %d/%d, peer %d/%d)",
          res.path, flow.a_rx, flow.n, flow.b_rx, flow.n) }
      end
    end
    for _, a in ipairs({ d, r }) do
      a:send { cmd = "stop" }
      if not a:wait(natlab.stop_grace_ms) then a:kill() end
    end
  end,
}
