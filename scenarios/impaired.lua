-- impaired.lua - ICE over a bad access link: loss, delay with jitter, rate
-- limits. Run with --trials N: the report shows per square the success rate
-- (passed trials) and the median and p95 connect time.
--
-- Both sides behind port-restricted-cone NATs (direct srflx when all is
-- well); the left host reaches its NAT over an impaired link
-- (natlab.impair: the userspace link emulator of emu/impair.h, both
-- directions impaired alike):
--   clean        no impairment (the baseline)
--   loss1/10/30  1 %, 10 %, 30 % independent loss
--   burst10      Gilbert-Elliott burst loss: good->bad 2 %, bad->good 20 %
--                per frame, every frame lost while bad: 9 % mean loss in
--                bursts of 5 frames on average
--   delay50      50 ms ± 10 ms one way; delay300: 300 ms ± 50 ms (uniform
--                jitter, no reordering: jitter becomes extra delay)
--   rate256k     256 kbit/s with a 64-frame queue; rate64k 64 kbit/s
-- A cell passes when the agents select a pair within `timeout_ms` and data
-- crosses both ways. Observations: `class` of the path, `two_way` counts,
-- `link` (the emulator's counters per direction: rx, tx, drop_loss, ...).
--
--   natlab run impaired --trials 10
natlab.scen.use_dir()
local S = natlab.scen

local PROFILES = {
  ["clean"] = {},
  ["loss1"] = { loss = 0.01 },
  ["loss10"] = { loss = 0.10 },
  ["loss30"] = { loss = 0.30 },
  ["burst10"] = { ge_p = 0.02, ge_r = 0.2, ge_loss_bad = 1 },
  ["delay50"] = { delay_ms = 50, jitter_ms = 10 },
  ["delay300"] = { delay_ms = 300, jitter_ms = 50 },
  ["rate256k"] = { rate_kbit = 256 },
  ["rate64k"] = { rate_kbit = 64 },
}

scenario {
  name = "impaired",
  description = "ICE over an impaired access link (loss, delay+jitter, rate): success rate and connect time over trials",
  params = {
    profile = { description = "impairment of the left access link", default = "loss10" },
    nat = { kind = "nat_preset", description = "NAT preset on both sides", default = "port-restricted-cone" },
    left_impl = { description = "left ICE agent program", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation", default = "natlab" },
    timeout_ms = { description = "time allowed to select a pair", default = 15000 },
    wire = { description = "judge the path on the wire (false: the agents' claims only)", default = true },
  },
  matrix = { profile = { "clean", "loss1", "loss10", "loss30", "burst10", "delay50", "delay300", "rate256k", "rate64k" } },
  grid = { name = "impaired: path and connect time over an impaired access link", rows = "profile" },
  timeout_ms = 45000,

  network = function(p, cell)
    S.need_lab()
    if not natlab.impair then natlab.skip("this natlab has no natlab.impair binding") end
    local prof = PROFILES[p.profile]
    if not prof then error("impaired: unknown profile '" .. tostring(p.profile) .. "'", 0) end
    local net = natlab.net()
    net:internet()
    local nat = net:nat("left-nat", p.nat)
    local host = net:node("left")
    net.link = natlab.impair(host, "eth0", nat, "imp0")
    nat:addr("imp0", "10.99.0.1/24")
    host:addr("eth0", "10.99.0.2/24")
    host:route("default", "10.99.0.1")
    net.addr.left = "10.99.0.2"
    local c = {}
    for k, v in pairs(prof) do c[k] = v end
    c.seed = cell and (cell.seed % 2147483647) + 1 or 1
    net.link:set("both", c)
    S.side(net, "right", p.nat)
    net.srv = S.servers(net, p)
    net.wire = S.watch(net, { "left", "right" }, p)
    return net
  end,

  run = function(net, p, cell)
    local args = { "--ta-ms", "20", "--rto-ms", "300", "--nominate-wait-ms", "300" }
    local turn = S.turn_urls(net, "udp")
    local l = S.agent(net, "left", p.left_impl, { role = "controlling", name = "left", trickle = true,
                                                  turn = turn, args = args, gather_timeout_ms = 3000 }, cell)
    local r = S.agent(net, "right", p.right_impl, { role = "controlled", name = "right", trickle = true,
                                                    turn = turn, args = args, gather_timeout_ms = 3000 }, cell)
    local res = natlab.ice_connect(l, r, { trickle = true, timeout_ms = p.timeout_ms,
                                           names = { "left", "right" }, record = false })
    if res.ok then
      -- the path is the one the wire saw the datagrams take (a claim it
      -- contradicts fails the cell); no expectation here
      local flow = S.data_phase(net, l, r, res, cell, { names = { "left", "right" },
                                                         two_way = { n = 10, interval_ms = 20, timeout_ms = 3000 } })
      natlab.observe("two_way", flow)
      if not flow.ok then natlab.result { outcome = "fail", message = "selected " .. res.path .. " but data did not flow both ways" } end
    else
      S.record_class(res, cell, { names = { "left", "right" } })
      natlab.result { outcome = "fail", message = res.reason }
    end
    natlab.observe("link", { a2b = net.link:stats("a2b"), b2a = net.link:stats("b2a") })
    S.stop({ l, r })
  end,
}
