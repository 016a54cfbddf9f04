-- hairpin.lua - two hosts behind one NAT reach each other through their
-- public addresses (RFC 4787 §6, REQ-9).
--
-- Both hosts sit on the LAN of one NAT of the chosen preset, with its
-- hairpin knob forced on or off. The agents run with --policy nohost, so
-- the LAN path (host candidates) is not offered: what is left is the
-- server-reflexive addresses, which only meet when the NAT sends a packet
-- addressed to its own public address back inside, and the TURN relay.
-- Expected: hairpin on -> a direct path (srflx/prflx through the NAT);
-- hairpin off -> the relay. Except symmetric with hairpin on: a hairpinned
-- packet comes from the sender's external address and port (RFC 4787
-- REQ-9 a) and meets the receiver's filter like any outside packet (§6).
-- Under address-and-port-dependent mapping each host's check to the
-- other leaves from a new mapping the other never sent to, so its
-- address-and-port-dependent filter drops it, as between two symmetric
-- NATs (docs/expected-matrix.md): the relay. A cell that connects must
-- also carry numbered datagrams both ways, else it fails; its path is the
-- one the lab saw the data take (natlab.wire, watched on the two hosts
-- themselves: a hairpinned call never crosses the NAT's outside), and a
-- claim the wire contradicts fails it. Observations keep the exact path
-- and each side's selected pair.
--
--   natlab run hairpin
--   natlab run hairpin -p nat=full-cone -p hairpin=true
natlab.scen.use_dir()
local S = natlab.scen

scenario {
  name = "hairpin",
  description = "two hosts behind one NAT, reaching each other through its public address (hairpin on/off)",
  params = {
    nat = { kind = "nat_preset", description = "NAT preset both hosts are behind", default = "port-restricted-cone" },
    hairpin = { description = "the NAT's hairpin knob", default = true },
    left_impl = { description = "left ICE agent program", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation", default = "natlab" },
    timeout_ms = { description = "time allowed to select a pair", default = 10000 },
    wire = { description = "judge the path on the wire (false: claims only)", default = true },
  },
  matrix = { nat = { "full-cone", "port-restricted-cone", "address-dependent", "symmetric" },
             hairpin = { true, false } },
  grid = { name = "hairpin: path between two hosts behind one NAT", rows = "nat", cols = "hairpin" },
  expect = function(p)
    if not p.hairpin or p.nat == "symmetric" then return "relay" end
    return "direct"
  end,
  timeout_ms = 30000,

  network = function(p)
    S.need_lab()
    local net = natlab.net()
    net:internet()
    local nat = net:nat("nat", { preset = p.nat, hairpin = p.hairpin })
    net:host("left", nat)
    net:host("right", nat)
    net.srv = S.servers(net, p)
    net.wire = S.watch(net, { "left", "right" }, p, { points = { left = "left", right = "right" },
                                                     pub = { left = "nat", right = "nat" } })
    return net
  end,

  run = function(net, p, cell)
    local o = { policy = "nohost", trickle = true, turn = S.turn_urls(net, "udp"),
                args = { "--ta-ms", "10", "--rto-ms", "100", "--nominate-wait-ms", "300" } }
    local l = S.agent(net, "left", p.left_impl, { role = "controlling", name = "left", policy = o.policy,
                                                  trickle = true, turn = o.turn, args = o.args }, cell)
    local r = S.agent(net, "right", p.right_impl, { role = "controlled", name = "right", policy = o.policy,
                                                    trickle = true, turn = o.turn, args = o.args }, cell)
    local res = natlab.ice_connect(l, r, { trickle = true, timeout_ms = p.timeout_ms,
                                           names = { "left", "right" }, record = false })
    if not res.ok then
      S.record_class(res, cell, { names = { "left", "right" } })
    else
      -- connecting is not enough: numbered datagrams must cross both ways
      -- over the selected pair (through the hairpin or the relay), and the
      -- verdict is the path the wire saw them take
      local tw = S.data_phase(net, l, r, res, cell, { names = { "left", "right" } })
      natlab.observe("two_way", tw)
      if not tw.ok then
        natlab.result { outcome = "fail", message = string.format(
          "selected %s but no two-way data (left got %d/%d, right %d/%d)", res.path, tw.a_rx, tw.n, tw.b_rx, tw.n) }
      end
    end
    S.stop({ l, r })
  end,
}
