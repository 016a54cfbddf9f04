-- smoke.lua - the first end-to-end check of the lab: a client behind a NAT,
-- a STUN server on the internet, one Binding request through the NAT. The
-- reflexive address the server reports must be the NAT's public address:
-- that is the "srflx" path; seeing the client's private address would mean
-- the NAT did not translate.
scenario {
  name = "smoke",
  description = "client - NAT - internet with a STUN server: does a Binding go through the NAT?",
  params = {
    nat = { kind = "nat_preset", description = "NAT preset between the client and the internet", default = "easy" },
    port = { description = "STUN server UDP port", default = 3478 },
  },
  matrix = { nat = { "easy", "hard" } },
  grid = { name = "smoke: STUN binding through a NAT", rows = "nat" },
  expect = "srflx",
  timeout_ms = 20000,

  network = function(p)
    if not (natlab.features.route and natlab.features.nat) then
      natlab.skip("this natlab was built without emu routes or NATs")
    end
    local net = natlab.net()
    net:internet()
    net:public_host("stun")
    local nat = net:nat("nat", p.nat)
    net:host("client", nat)
    if natlab.bin("natlab-stun-server") then
      local srv, err = natlab.server(net, "stun", "stun", { port = p.port })
      if not srv then error(err) end
      net.server = srv
    end
    return net
  end,

  run = function(net, p)
    if not net.server then
      natlab.skip("natlab-stun-server is not built yet (not in build/bin or PATH)")
    end
    local t0 = natlab.now_ms()
    local mapped, err = net.nodes.client:stun_binding(net.addr.stun, p.port, 3000)
    natlab.observe("client_addr", net.addr.client)
    natlab.observe("nat_public", net.addr.nat)
    if not mapped then
      natlab.result { path = "failed", message = err }
      return
    end
    natlab.event("harness", "binding")
    natlab.observe("mapped", mapped)
    local ip = mapped:match("^([^:]+)")
    local path = "failed"
    if ip == net.addr.nat then path = "srflx" elseif ip == net.addr.client then path = "host" end
    natlab.result { path = path, connect_ms = natlab.now_ms() - t0 }
  end,
}
