-- matrix.lua - THE DEFAULT RUN (scripts/run-default): every NAT preset
-- against every NAT preset, two ICE agents (natlab-ice unless -p
-- left_impl=/right_impl= name another), a STUN server and a TURN server
-- (UDP and TCP on 3478, TCP on 80, TLS on 5349 and 443) on the internet.
--
-- Each cell passes when
--   1. both agents select a pair (trickle by default, -p trickle=false for
--      full gathering; regular nomination),
--   2. data flows both ways over it (numbered datagrams, rx on each side), and
--   3. the path class the lab saw the data take on the wire (the settled
--      path, natlab.wire) equals scenarios/matrix_expected.lua's: "direct"
--      (host/srflx/prflx), "relay" (TURN over UDP) or "relay-tcp" (TURN over
--      TCP or TLS). A relay where a direct path is expected FAILS, and so
--      does an agent's claim (selected/switched) that the wire contradicts.
-- docs/expected-matrix.md derives every expected cell from RFC 4787
-- behaviours; the report shows the class, observations keep the exact path
-- (srflx, prflx, relay-tls, ...), the selected pair and the data counts.
--
--   natlab run scenarios/matrix.lua                      # 81 cells
--   natlab run scenarios/matrix.lua -p left=symmetric    # one row
--   natlab run scenarios/matrix.lua --trials 5           # connect-time spread
--   natlab run scenarios/matrix.lua -p left_impl=natlab-ice,nice -p right_impl=natlab-ice,nice
--                      # implementation x implementation: one 9 x 9 grid per pair
--   natlab run scenarios/matrix.lua -p servers=coturn    # against coturn's turnserver
--   natlab run scenarios/matrix.lua -p dataplane=datachannel
--                      # data over a WebRTC data channel (DTLS + SCTP) instead of datagrams
--                      # (by default the harness picks the plane both agents offer:
--                      # datagram, else datachannel, else none: consent checks)
natlab.scen.use_dir()
local S = natlab.scen

local function expected_table()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$")
  local dir = src and src:match("^(.*)/[^/]*$") or "."
  local chunk, err = loadfile(dir .. "/matrix_expected.lua")
  if not chunk then error("matrix: cannot load matrix_expected.lua: " .. tostring(err)) end
  return chunk()
end
local EXPECT = expected_table()

local function col_index(name)
  for i, n in ipairs(EXPECT.order) do
    if n == name then return i end
  end
  return nil
end

-- The options both agents get: pacing, TURN, and the -p words asking for
-- more (agent_args, ice_tcp, dataplane).
local function agent_common(net, p)
  local turn = S.turn_urls(net, "all", net.srv.tls)
  -- a silent STUN server (UDP blocked) costs 1 s, not 3: the lab's RTT is
  -- well under a millisecond
  local common = { turn = turn, gather_timeout_ms = 1000, trickle = p.trickle,
                   args = { "--ta-ms", tostring(p.ta_ms), "--rto-ms", tostring(p.rto_ms), "--nominate-wait-ms", tostring(p.nominate_wait_ms) } }
  for w in tostring(p.agent_args):gmatch("%S+") do common.args[#common.args + 1] = w end
  if p.ice_tcp then common.args[#common.args + 1] = "--tcp" end
  -- "auto": the harness chooses from the agents' ready events
  -- (natlab.ice_connect); an explicit plane other than the datagram one,
  -- every agent's default, is also passed as --dataplane (adapters accept
  -- it), so agents that know no gather.dataplane keep working
  if p.dataplane ~= "auto" and p.dataplane ~= "datagram" and p.dataplane ~= "datachannel" then
    error("matrix: dataplane '" .. tostring(p.dataplane) .. "': want auto, datagram or datachannel")
  end
  if p.dataplane == "datachannel" then
    table.insert(common.args, "--dataplane")
    table.insert(common.args, p.dataplane)
  end
  return common
end

-- With no data plane in common the consent window opens this long after
-- the selection: the checks still running on pairs not selected
-- (retransmitted up to 7 times from --rto-ms 100, about 1.6 s with
-- backoff) would otherwise outweigh the consent checks on the wire.
local NO_PLANE_SETTLE_MS = 2000

-- What the agents declared they can do (docs/agent-protocol.md,
-- Capabilities) may change what this cell expects, or make it
-- unsupported (docs/expected-matrix.md, "Capabilities"). @procs: {left=,
-- right=}.
local function expect_by_capabilities(p, cell, procs)
  for _, side in ipairs({ "left", "right" }) do
    local ok, why = natlab.ready(procs[side])
    if not ok then natlab.fail(side .. " (" .. tostring(p[side .. "_impl"]) .. "): " .. why) end
  end
  local exp, why = EXPECT.adjust(p.left, p.right, cell.expected_path,
                                 function(side, name) return natlab.capability(procs[side], name) end)
  if not exp then natlab.unsupported(why) end
  if exp ~= cell.expected_path then
    natlab.observe("expected_by_capabilities", exp)
    cell.expected_path = exp
    natlab.result { expected_path = exp }
  end
end

scenario {
  name = "matrix",
  description = "every NAT preset x every NAT preset: ICE path and two-way data against the expected-outcome table",
  params = {
    left = { kind = "nat_preset", description = "left NAT preset (row)", default = "port-restricted-cone" },
    right = { kind = "nat_preset", description = "right NAT preset (column)", default = "port-restricted-cone" },
    left_impl = { description = "left ICE agent program (docs/agent-protocol.md)", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation", default = "natlab" },
    trickle = { description = "trickle candidates (RFC 8838) instead of full gathering", default = true },
    rto_ms = { description = "agent check RTO floor (--rto-ms; the lab's RTT is under 1 ms)", default = 100 },
    ta_ms = { description = "agent pacing Ta (--ta-ms, RFC 8445 §14.2: at least 5)", default = 10 },
    nominate_wait_ms = { description = "controlling agent's wait for a better pair (--nominate-wait-ms)", default = 300 },
    ice_tcp = { description = "ICE-TCP candidates (RFC 6544; --tcp) in both agents", default = false },
    timeout_ms = { description = "time allowed to select a pair", default = 12000 },
    wire = { description = "observe the data path on the wire and judge by it (false: claims only; bench/wire_overhead)", default = true },
    settle_ms = { description = "after the first data burst, wait this long for switches and judge a second burst", default = 0 },
    agent_args = { description = "extra words for both agents' command lines (space-separated)", default = "" },
    send_data = { description = "send numbered datagrams (false: judge the consent checks of a consent_ms window, as for agents with no data plane in common)", default = true },
    consent_ms = { description = "the window of consent checks judged with send_data=false or no data plane in common (0: 1000 ms with send_data=false, 6500 ms, over RFC 7675's longest consent period, with no plane in common)", default = 0 },
    dataplane = { description = "data plane of the two-way check: auto (the harness chooses from both agents' ready.dataplanes: datagram, else datachannel, else none: consent checks), datagram, or datachannel (a WebRTC data channel over DTLS/SCTP, also passed to the agents as --dataplane); an asked plane one side lacks falls back as auto does", default = "auto" },
    left_args = { description = "extra words for the left agent's command line only (space-separated)", default = "" },
    right_args = { description = "extra words for the right agent's command line only (space-separated)", default = "" },
  },
  matrix = { left = EXPECT.order, right = EXPECT.order },
  -- sweeping left_impl/right_impl (or servers) draws one preset x preset
  -- grid per implementation pair instead of folding the pairs into one square
  grid = { name = "matrix: path class (expected from scenarios/matrix_expected.lua)", rows = "left", cols = "right",
           split = { "left_impl", "right_impl", "servers" } },
  expect = function(p)
    local row, c = EXPECT.grid[p.left], col_index(p.right)
    return row and c and row[c] or nil
  end,
  timeout_ms = 30000,

  network = function(p)
    S.need_lab()
    local net = natlab.net()
    net:internet()
    S.side(net, "left", p.left)
    S.side(net, "right", p.right)
    net.srv = S.servers(net, p)
    net.wire = S.watch(net, { "left", "right" }, p)
    return net
  end,

  run = function(net, p, cell)
    local common = agent_common(net, p)
    -- one side's own words after the common ones
    local function side_opts(side, role)
      local o = setmetatable({ role = role, name = side }, { __index = common })
      local extra = tostring(p[side .. "_args"])
      if extra ~= "" then
        o.args = {}
        for _, w in ipairs(common.args) do o.args[#o.args + 1] = w end
        for w in extra:gmatch("%S+") do o.args[#o.args + 1] = w end
      end
      return o
    end
    local l = S.agent(net, "left", p.left_impl, side_opts("left", "controlling"), cell)
    local r = S.agent(net, "right", p.right_impl, side_opts("right", "controlled"), cell)
    expect_by_capabilities(p, cell, { left = l, right = r })
    local res = natlab.ice_connect(l, r, { trickle = p.trickle, timeout_ms = p.timeout_ms,
                                           names = { "left", "right" }, record = false,
                                           dataplane = p.dataplane ~= "auto" and p.dataplane or nil })
    if not res.ok then
      S.record_class(res, cell, { names = { "left", "right" } })
    else
      -- the data phase, then the verdict: the wire's settled path against
      -- the expectation, each side's claim against the wire. Without a
      -- data plane in common (or with send_data=false) the window holds
      -- only the agents' consent checks (RFC 7675)
      local consent_ms = nil
      local note = nil
      local settle = p.settle_ms
      if not p.send_data then
        consent_ms = p.consent_ms > 0 and p.consent_ms or 1000
      elseif not res.dataplane then
        -- agents' own consent period (RFC 7675 §5.1: 5 s +- 20 %), after
        -- the checks of the pairs not selected are over
        consent_ms = p.consent_ms > 0 and p.consent_ms or 6500
        settle = math.max(settle, NO_PLANE_SETTLE_MS)
        note = res.dataplane_note .. ": judged on consent checks"
        natlab.observe("no_dataplane", note)
      end
      local flow = S.data_phase(net, l, r, res, cell, { names = { "left", "right" }, settle_ms = settle,
                                                         consent_ms = consent_ms, note = note })
      natlab.observe("two_way", flow)
      if not flow.consent_only then
        natlab.result { data = { sent = flow.n, received = flow.a_rx, peer_received = flow.b_rx } }
      end
      if not flow.ok then
        natlab.result { outcome = "fail", message = string.format(
          "selected %s but data did not flow both ways (left got %d/%d, right %d/%d)",
          res.path, flow.a_rx, flow.n, flow.b_rx, flow.n) }
      end
    end
    S.stop({ l, r })
  end,
}
