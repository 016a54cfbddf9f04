-- quick.lua - the cheapest cell worth running: a client behind a NAT and a
-- host on the internet, built (namespaces, veths, addresses, routes, the
-- NAT's nftables batch) and torn down, no agent. bench/scale uses it to
-- measure what the runner and the results cost per cell, and the shard
-- test (tests/cli/harness_report_shards.sh) to run many cells fast.
scenario {
  name = "quick",
  description = "client - NAT - internet, built and torn down: what a cell costs without agents",
  params = {
    nat = { description = "NAT preset", default = "easy" },
  },
  matrix = { nat = { "easy" } },
  grid = { name = "quick: lab build", rows = "nat" },
  timeout_ms = 20000,

  network = function(p)
    natlab.scen.need_lab()
    local net = natlab.net()
    net:internet()
    net:public_host("server")
    local nat = net:nat("nat", p.nat)
    net:host("client", nat)
    return net
  end,

  run = function(net, p)
    -- the lab is there: every node and the NAT's public address
    for _, n in ipairs({ "client", "nat", "server" }) do
      if not net.nodes[n] then
        natlab.fail("node " .. n .. " was not built")
      end
    end
    natlab.observe("nat_public", net.addr.nat)
  end,
}
