-- 45_call.lua - the NAT x NAT call that scenarios/matrix.lua and
-- scenarios/interop.lua both judge: two agents (any implementations), each
-- behind a NAT preset, natlab's or coturn's STUN/TURN servers on the
-- internet, the expected path class from scenarios/matrix_expected.lua as
-- the agents' declared capabilities change it, and the verdict on the path
-- the wire saw the data take (natlab.scen.data_phase). A scenario declares
-- its own axes, grids and summary; the cell itself is natlab.scen.call_*.

local scen = natlab.scen

-- scen.expected_table() -> the table of scenarios/matrix_expected.lua
-- ({order, grid, adjust}), found beside the calling scenario
-- (scen.use_dir) or under $NATLAB_SOURCE_DIR/scenarios.
function scen.expected_table()
  local cands = {}
  if scen.dir then cands[#cands + 1] = scen.dir .. "/matrix_expected.lua" end
  local env = os.getenv("NATLAB_SOURCE_DIR")
  if env then cands[#cands + 1] = env .. "/scenarios/matrix_expected.lua" end
  local errs = {}
  for _, path in ipairs(cands) do
    local chunk, err = loadfile(path)
    if chunk then return chunk() end
    errs[#errs + 1] = tostring(err)
  end
  error("cannot load scenarios/matrix_expected.lua (" .. table.concat(errs, "; ") ..
        "): keep it beside the scenario or set NATLAB_SOURCE_DIR", 2)
end

-- scen.call_params(defaults) -> params table for scenario{}
-- The parameters of the call (both NATs, both implementations, servers,
-- pacing, data phase), with @defaults ({name = value}) overriding the
-- defaults of some; a scenario adds its own entries to the table returned.
function scen.call_params(defaults)
  local p = {
    left = { kind = "nat_preset", description = "left NAT preset (row)", default = "port-restricted-cone" },
    right = { kind = "nat_preset", description = "right NAT preset (column)", default = "port-restricted-cone" },
    left_impl = { kind = "agent_impl", description = "left (controlling) ICE agent: a shipped implementation (natlab.agent_impls) or a program speaking docs/agent-protocol.md", default = "natlab-ice" },
    right_impl = { kind = "agent_impl", description = "right (controlled) ICE agent", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation: natlab or coturn", default = "natlab" },
    turn = { description = "TURN transports the agents get: all (UDP 3478, TCP 80, TLS 443), udp, tcp or tls", default = "all" },
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
  }
  for k, v in pairs(defaults or {}) do
    if not p[k] then error("scen.call_params: no call param '" .. tostring(k) .. "'", 2) end
    p[k].default = v
  end
  return p
end

-- scen.installed_impls() -> list, missing
-- The shipped agent implementations (natlab.agent_impls, in that order)
-- whose program is there, and {name = what to install} for the others.
function scen.installed_impls()
  local have, missing = {}, {}
  for _, name in ipairs(natlab.agent_impls) do
    local ok, why = natlab.impl_path(name)
    if ok then have[#have + 1] = name else missing[name] = why end
  end
  return have, missing
end

-- The options both agents get: pacing, TURN, and the -p words asking for
-- more (agent_args, ice_tcp, dataplane).
local function agent_common(net, p)
  local which = p.turn or "all"
  if which ~= "all" and which ~= "udp" and which ~= "tcp" and which ~= "tls" then
    error("turn '" .. tostring(which) .. "': want all, udp, tcp or tls", 0)
  end
  -- only TURN's TLS port asked for, and no TLS listener (no certificate):
  -- the cell could not test what it was asked to
  if which == "tls" and net.srv.tls == false then
    natlab.skip("-p turn=tls: the TURN server has no TLS listener (no scenarios/certs/turn-cert.pem)")
  end
  local turn = scen.turn_urls(net, which, net.srv.tls)
  -- a silent STUN server (UDP blocked) costs 1 s, not 3: the lab's RTT is
  -- well under a millisecond
  local common = { turn = turn, gather_timeout_ms = 1000, trickle = p.trickle,
                   args = { "--ta-ms", tostring(p.ta_ms), "--rto-ms", tostring(p.rto_ms),
                            "--nominate-wait-ms", tostring(p.nominate_wait_ms) } }
  for w in tostring(p.agent_args):gmatch("%S+") do common.args[#common.args + 1] = w end
  if p.ice_tcp then common.args[#common.args + 1] = "--tcp" end
  -- "auto": the harness chooses from the agents' ready events
  -- (natlab.ice_connect); an explicit plane other than the datagram one,
  -- every agent's default, is also passed as --dataplane (adapters accept
  -- it), so agents that know no gather.dataplane keep working
  if p.dataplane ~= "auto" and p.dataplane ~= "datagram" and p.dataplane ~= "datachannel" then
    error("dataplane '" .. tostring(p.dataplane) .. "': want auto, datagram or datachannel", 0)
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

-- An agent's own ready.settle_ms is honoured up to this (docs/agent-protocol.md).
local MAX_DECLARED_SETTLE_MS = 5000

-- What the agents declared they can do (docs/agent-protocol.md,
-- Capabilities) may change what this cell expects, or make it
-- unsupported (docs/expected-matrix.md, "Capabilities"). @procs: {left=,
-- right=}.
local function expect_by_capabilities(expect, p, cell, procs)
  for _, side in ipairs({ "left", "right" }) do
    local ok, why = natlab.ready(procs[side])
    if not ok then natlab.fail(side .. " (" .. tostring(p[side .. "_impl"]) .. "): " .. why) end
  end
  -- the TURN transports this cell offers (param turn: all, udp, tcp,
  -- tls). The lab's TLS listener (natlab's server and coturn alike) also
  -- takes plain TCP, and a client without TLS may use it so (libnice
  -- does): turn=tls offers TCP too.
  local offered = nil
  if p.turn and p.turn ~= "all" then
    offered = { [p.turn] = true }
    if p.turn == "tls" then offered.tcp = true end
  end
  local exp, why = expect.adjust(p.left, p.right, cell.expected_path,
                                 function(side, name) return natlab.capability(procs[side], name) end,
                                 offered)
  if not exp then natlab.unsupported(why) end
  if exp ~= cell.expected_path then
    natlab.observe("expected_by_capabilities", exp)
    cell.expected_path = exp
    natlab.result { expected_path = exp }
  end
end

-- scen.call_expect(expect) -> function(p): the expected class of a cell
-- (scenario{expect = ...}) from the table of scen.expected_table().
function scen.call_expect(expect)
  return function(p)
    local row = expect.grid[p.left]
    for i, n in ipairs(expect.order) do
      if n == p.right then return row and row[i] or nil end
    end
    return nil
  end
end

-- scen.call_network(p) -> net: both sides behind their presets, the
-- servers of p.servers, the wire watched (unless p.wire is false).
function scen.call_network(p)
  scen.need_lab()
  local net = natlab.net()
  net:internet()
  scen.side(net, "left", p.left)
  scen.side(net, "right", p.right)
  net.srv = scen.servers(net, p)
  net.wire = scen.watch(net, { "left", "right" }, p)
  return net
end

-- scen.call_run(expect) -> function(net, p, cell): the cell. Both agents
-- start (left controlling), their capabilities adjust the expectation,
-- they connect (trickle unless p.trickle is false), data flows both ways
-- (or only consent checks, p.send_data false) and the verdict is the
-- wire's settled class against the expected one (scen.data_phase).
function scen.call_run(expect)
  return function(net, p, cell)
    local common = agent_common(net, p)
    -- one side's own words after the common ones
    local function side_opts(side, role)
      local o = setmetatable({ role = role, name = side }, { __index = common })
      local extra = tostring(p[side .. "_args"] or "")
      if extra ~= "" then
        o.args = {}
        for _, w in ipairs(common.args) do o.args[#o.args + 1] = w end
        for w in extra:gmatch("%S+") do o.args[#o.args + 1] = w end
      end
      return o
    end
    local l = scen.agent(net, "left", p.left_impl, side_opts("left", "controlling"), cell)
    local r = scen.agent(net, "right", p.right_impl, side_opts("right", "controlled"), cell)
    natlab.observe("impls", tostring(p.left_impl) .. " > " .. tostring(p.right_impl))
    expect_by_capabilities(expect, p, cell, { left = l, right = r })
    local res = natlab.ice_connect(l, r, { trickle = p.trickle, timeout_ms = p.timeout_ms,
                                           names = { "left", "right" }, record = false,
                                           dataplane = p.dataplane ~= "auto" and p.dataplane or nil })
    if not res.ok then
      scen.record_class(res, cell, { names = { "left", "right" } })
    else
      -- the data phase, then the verdict: the wire's settled path against
      -- the expectation, each side's claim against the wire. Without a
      -- data plane in common (or with send_data=false) the window holds
      -- only the agents' consent checks (RFC 7675)
      local consent_ms, note = nil, nil
      -- the judged window opens after the switches either side declared it
      -- may still make (ready.settle_ms: stacks that nominate the first
      -- valid pair and move to a better one later); the wire still judges
      local settle = p.settle_ms
      for _, pr in ipairs({ l, r }) do
        local d = tonumber((natlab.ready_seen(pr) or {}).settle_ms)
        if d and d > settle then settle = math.min(d, MAX_DECLARED_SETTLE_MS) end
      end
      if settle ~= p.settle_ms then natlab.observe("settle_ms", settle) end
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
      local flow = scen.data_phase(net, l, r, res, cell, { names = { "left", "right" }, settle_ms = settle,
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
    scen.stop({ l, r })
  end
end
