-- cgnat.lua - carrier-grade NAT (RFC 6888): homes behind their own router
-- behind one carrier NAT.
--
-- peer = "same-carrier": left and right are two homes (each a
-- port-restricted-cone home NAT) behind the SAME carrier NAT, whose hairpin
-- knob is the `carrier_hairpin` axis. Their server-reflexive addresses are
-- both the carrier's public address; they meet directly only if the carrier
-- hairpins (RFC 4787 REQ-9 and RFC 6888 REQ-9 ask it to), else through TURN.
-- peer = any preset: a home behind a CGNAT against that preset; the
-- expected path is the "cgnat" row of scenarios/matrix_expected.lua.
--
--   natlab run cgnat
--   natlab run cgnat -p peer=same-carrier -p carrier_hairpin=false
natlab.scen.use_dir()
local S = natlab.scen

local function expected_table()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$")
  local dir = src and src:match("^(.*)/[^/]*$") or "."
  return assert(loadfile(dir .. "/matrix_expected.lua"))()
end
local EXPECT = expected_table()

local PEERS = { "same-carrier" }
for _, n in ipairs(EXPECT.order) do PEERS[#PEERS + 1] = n end

scenario {
  name = "cgnat",
  description = "homes behind a carrier NAT: two homes on one carrier (hairpin on/off), and a CGNAT home against each preset",
  params = {
    peer = { description = "the right side: same-carrier, or a NAT preset", default = "same-carrier" },
    carrier_hairpin = { description = "the carrier NAT's hairpin knob", default = true },
    left_impl = { description = "left ICE agent program", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation", default = "natlab" },
    timeout_ms = { description = "time allowed to select a pair", default = 10000 },
    wire = { description = "judge the path on the wire (false: claims only)", default = true },
  },
  matrix = { peer = PEERS, carrier_hairpin = { true, false } },
  grid = { name = "cgnat: left home behind a carrier NAT", rows = "peer", cols = "carrier_hairpin" },
  expect = function(p)
    if p.peer == "same-carrier" then return p.carrier_hairpin and "direct" or "relay" end
    local c
    for i, n in ipairs(EXPECT.order) do if n == p.peer then c = i end end
    return c and EXPECT.grid["cgnat"][c]
  end,
  timeout_ms = 30000,

  network = function(p)
    S.need_lab()
    local net = natlab.net()
    net:internet()
    local carrier = net:nat("carrier", { preset = "cgnat", hairpin = p.carrier_hairpin })
    net:host("left", net:nat("left-nat", S.CGNAT_HOME, carrier))
    if p.peer == "same-carrier" then
      net:host("right", net:nat("right-nat", S.CGNAT_HOME, carrier))
    else
      S.side(net, "right", p.peer)
    end
    net.srv = S.servers(net, p)
    -- the wire is watched where each side's traffic meets the internet:
    -- the carrier's outside for the left; two homes on one carrier meet
    -- by hairpin inside it, so there on the two hosts, whose outside is
    -- the carrier's public address
    if p.peer ~= "same-carrier" then
      net.wire = S.watch(net, { "left", "right" }, p, { points = { left = "carrier" } })
    else
      net.wire = S.watch(net, { "left", "right" }, p, { points = { left = "left", right = "right" },
                                                       pub = { left = "carrier", right = "carrier" } })
    end
    return net
  end,

  run = function(net, p, cell)
    local args = { "--ta-ms", "10", "--rto-ms", "100", "--nominate-wait-ms", "300" }
    local turn = S.turn_urls(net, "all", net.srv.tls)
    local l = S.agent(net, "left", p.left_impl, { role = "controlling", name = "left", trickle = true,
                                                  turn = turn, args = args, gather_timeout_ms = 1000 }, cell)
    local r = S.agent(net, "right", p.right_impl, { role = "controlled", name = "right", trickle = true,
                                                    turn = turn, args = args, gather_timeout_ms = 1000 }, cell)
    local res = natlab.ice_connect(l, r, { trickle = true, timeout_ms = p.timeout_ms,
                                           names = { "left", "right" }, record = false })
    if not res.ok then S.record_class(res, cell, { names = { "left", "right" } }) end
    if res.ok then
      local flow = S.data_phase(net, l, r, res, cell, { names = { "left", "right" } })
      natlab.observe("two_way", flow)
      if not flow.ok then natlab.result { outcome = "fail", message = "data did not flow both ways" } end
    end
    S.stop({ l, r })
  end,
}
