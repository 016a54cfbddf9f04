-- 30_scen.lua - what the shipped scenarios (scenarios/*.lua) share: one side
-- of a call behind a NAT preset, the STUN and TURN servers of the internet,
-- agents started with the scenario's implementation parameters, the path
-- class an expected-outcome table speaks of, and a two-way data check.
-- Everything here is built on the prelude's public helpers (10_net, 20_ice);
-- docs/scenarios.md describes the scenarios that use it.

local scen = {}
natlab.scen = scen

-- The home NAT a "cgnat" side sits behind: RFC 6888 carrier NATs serve
-- homes whose own router is the ordinary Linux one (docs/nat-model.md,
-- emu_nat_preset_inner("cgnat")).
scen.CGNAT_HOME = "port-restricted-cone"

-- scen.side(net, name, preset[, knobs]) -> host name
-- One endpoint of a call: "open" is a host with a public address; "cgnat" is
-- a host behind a home NAT behind a carrier NAT; any other preset is a host
-- behind one NAT of that preset. @knobs (a table) overrides preset knobs of
-- the NAT next to the host (for cgnat: of the carrier). The NAT nodes are
-- "<name>-nat" (and "<name>-cgn" for the carrier).
function scen.side(net, name, preset, knobs)
  local function cfg(p)
    local c = { preset = p }
    for k, v in pairs(knobs or {}) do c[k] = v end
    return c
  end
  if preset == "open" then
    net:public_host(name)
  elseif preset == "cgnat" then
    local carrier = net:nat(name .. "-cgn", cfg("cgnat"))
    local home = net:nat(name .. "-nat", scen.CGNAT_HOME, carrier)
    net:host(name, home)
  else
    net:host(name, net:nat(name .. "-nat", cfg(preset)))
  end
  return name
end

-- Where this file's scenarios keep their throw-away TLS certificate (a
-- self-signed P-256 certificate for CN=turn.natlab.test, made for the lab;
-- the agents do not verify it, as WebRTC stacks do not verify TURN
-- certificates against anything but their own configuration).
local function cert_dir()
  local env = os.getenv("NATLAB_SOURCE_DIR")
  local cands = {}
  if env then cands[#cands + 1] = env .. "/scenarios/certs" end
  if scen.dir then cands[#cands + 1] = scen.dir .. "/certs" end
  cands[#cands + 1] = "scenarios/certs"
  for _, d in ipairs(cands) do
    local f = io.open(d .. "/turn-cert.pem", "r")
    if f then
      f:close()
      -- servers run with the harness's working directory, but say it whole
      if d:sub(1, 1) ~= "/" and os.getenv("PWD") then d = os.getenv("PWD") .. "/" .. d end
      return d
    end
  end
  return nil
end

-- scen.cell_dir() -> path | nil: the cell's log directory, absolute (the
-- programs started there change their working directory), or nil without
-- logs (natlab exec/shell).
function scen.cell_dir()
  local d = natlab.cell_dir()
  if d and d:sub(1, 1) ~= "/" and os.getenv("PWD") then d = os.getenv("PWD") .. "/" .. d end
  return d
end

-- scen.work_dir(sub) -> path: a directory for the files a cell generates
-- (server configurations, certificates): <scen.cell_dir()>/<sub>, or
-- <tmp>/<sub> without logs (natlab exec/shell), <tmp> one temporary
-- directory per scenario state, removed with everything in it when the
-- state closes; made here.
function scen.work_dir(sub)
  local d = scen.cell_dir()
  if not d then
    if not scen._tmp then
      local t = os.tmpname()
      os.remove(t)
      -- Lua 5.4 runs the finalizers of a closing state in the reverse order
      -- of their marking, so the processes started after this (which may
      -- still use the directory) are stopped by theirs before it goes
      scen._tmp = setmetatable({ path = t }, {
        __gc = function(o) os.execute("rm -rf '" .. o.path .. "'") end,
      })
    end
    d = scen._tmp.path
  end
  d = d .. "/" .. sub
  os.execute("mkdir -p '" .. d .. "'")
  return d
end

-- scen.write_file(path, text) -> path: @text as the whole of file @path
-- (raises).
function scen.write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

-- scen.use_dir(): remember the directory of the calling scenario file (for
-- scenarios/certs); call at the top of a scenario.
function scen.use_dir()
  local src = debug.getinfo(2, "S").source
  scen.dir = src:match("^@(.*)/[^/]*$") or "."
end

-- The TURN server's listeners: UDP+TCP 3478 (RFC 8656 §4 default), TCP 80 and
-- TLS 443 (the ports a web-only firewall lets out), TLS 5349.
scen.TURN_PORTS = { udp = 3478, tcp = 3478, tls = 5349, tcp_web = 80, tls_web = 443 }

-- scen.servers(net, p[, opts]) -> {stun=proc, turn=proc} or raises
-- Starts a STUN server on public host "stun" and a TURN server on public
-- host "turn" (both created here). p.servers names the implementation
-- ("natlab": natlab-stun-server and natlab-turn-server with every listener
-- above); another kind is passed on to natlab.server (opts.impl) for the
-- harness to start. opts: turn_args (extra natlab-turn-server words),
-- coturn_args (extra turnserver words, when p.servers is "coturn"),
-- no_turn, no_stun, user, pass.
function scen.servers(net, p, opts)
  opts = opts or {}
  local kind = p.servers or "natlab"
  local out = {}
  if not net.nodes.stun and not opts.no_stun then net:public_host("stun") end
  if not net.nodes.turn and not opts.no_turn then net:public_host("turn") end
  if not opts.no_stun then
    if kind == "natlab" and not natlab.bin("natlab-stun-server") then
      natlab.skip("natlab-stun-server is not built (not in build/bin or PATH)")
    end
    local srv, err = natlab.server(net, "stun", "stun", { impl = kind ~= "natlab" and kind or nil })
    if not srv then error("STUN server: " .. tostring(err), 0) end
    out.stun = srv
  end
  if opts.no_turn then return out end
  local user, pass = opts.user or "natlab", opts.pass or "natlab"
  local a = net.addr.turn
  if kind ~= "natlab" then
    local srv, err = natlab.server(net, "turn", "turn", {
      impl = kind, user = user, pass = pass, ports = scen.TURN_PORTS, cert_dir = cert_dir(),
      args = opts.coturn_args })
    if not srv then error("TURN server (" .. kind .. "): " .. tostring(err), 0) end
    out.turn = srv
    return out
  end
  local bin = natlab.bin("natlab-turn-server")
  if not bin then natlab.skip("natlab-turn-server is not built (not in build/bin or PATH)") end
  local argv = { bin, "--listen", a .. ":" .. scen.TURN_PORTS.udp,
                 "--listen", a .. ":" .. scen.TURN_PORTS.tcp_web,
                 "--user", user .. ":" .. pass }
  local cd = cert_dir()
  if cd then
    for _, port in ipairs({ scen.TURN_PORTS.tls, scen.TURN_PORTS.tls_web }) do
      argv[#argv + 1] = "--tls-listen"; argv[#argv + 1] = a .. ":" .. port
    end
    argv[#argv + 1] = "--cert"; argv[#argv + 1] = cd .. "/turn-cert.pem"
    argv[#argv + 1] = "--key"; argv[#argv + 1] = cd .. "/turn-key.pem"
  else
    natlab.log("no scenarios/certs/turn-cert.pem found: the TURN server runs without TLS")
  end
  for _, w in ipairs(opts.turn_args or {}) do argv[#argv + 1] = w end
  local srv = net.nodes.turn:spawn(argv, { name = "turn-server" })
  local ready, why = natlab.ready(srv, 5000)
  if not ready then error("natlab-turn-server sent " .. why, 0) end
  out.turn = srv
  out.tls = cd ~= nil
  return out
end

-- scen.turn_urls(net, which) -> list for natlab.agent's turn option.
-- which: "all" (UDP 3478, TCP 80, TLS 443: one of each transport, the
-- stream ones on the web ports so that they also leave a web-only
-- firewall), "udp", "tcp", "tls", "tcp3478", "tls5349", or a list.
function scen.turn_urls(net, which, tls)
  local a = net.addr.turn
  local P = scen.TURN_PORTS
  local known = {
    udp = "udp:" .. a .. ":" .. P.udp,
    tcp = "tcp:" .. a .. ":" .. P.tcp_web,
    tls = "tls:" .. a .. ":" .. P.tls_web,
    tcp3478 = "tcp:" .. a .. ":" .. P.tcp,
    tls5349 = "tls:" .. a .. ":" .. P.tls,
  }
  local list = which
  if which == nil or which == "all" then
    list = { "udp", "tcp" }
    if tls ~= false then list[#list + 1] = "tls" end
  elseif type(which) == "string" then
    list = { which }
  end
  local out = {}
  for _, w in ipairs(list) do
    if not known[w] then error("scen.turn_urls: unknown '" .. tostring(w) .. "'", 2) end
    out[#out + 1] = known[w]
  end
  return out
end

-- scen.agent(net, node_name, impl, opts) -> proc
-- natlab.agent with the lab's servers filled in: opts.stun (default: the
-- "stun" host), opts.turn (default: scen.turn_urls(net, "all")) unless
-- opts.turn == false, credentials natlab/natlab, a seed from the cell, and
-- short gathering timers so a silent server costs little. natlab.agent
-- decides what a missing implementation is: a shipped one that is not
-- installed skips the cell naming the package, a mistyped name or path is
-- an error (a skip would make a typo look like a green run).
function scen.agent(net, node_name, impl, opts, cell)
  opts = opts or {}
  local o = { impl = impl or "natlab-ice", role = opts.role, name = opts.name or node_name,
              policy = opts.policy, trickle = opts.trickle, nomination = opts.nomination,
              turn_user = opts.turn_user or "natlab", turn_pass = opts.turn_pass or "natlab" }
  if opts.stun ~= false and net.addr.stun then o.stun = opts.stun or (net.addr.stun .. ":3478") end
  if opts.turn ~= false and net.addr.turn then o.turn = opts.turn or scen.turn_urls(net, "all") end
  local args = {}
  if cell then args[#args + 1] = "--seed"; args[#args + 1] = tostring(cell.seed % 2147483647) end
  if opts.gather_timeout_ms then
    args[#args + 1] = "--gather-timeout-ms"; args[#args + 1] = tostring(opts.gather_timeout_ms)
  end
  for _, w in ipairs(opts.args or {}) do args[#args + 1] = w end
  o.args = args
  return natlab.agent(net, node_name, o)
end

-- scen.class(path) -> "direct" | "relay" | "relay-tcp" | "failed"
-- The classes of scenarios/matrix_expected.lua: host/srflx/prflx are direct;
-- a relay reached over UDP is "relay"; over TCP or TLS "relay-tcp".
function scen.class(path)
  if path == "host" or path == "srflx" or path == "prflx" then return "direct" end
  if path == "relay-udp" then return "relay" end
  if path == "relay-tcp" or path == "relay-tls" then return "relay-tcp" end
  return "failed"
end

-- scen.two_way(a, b, opts) -> {ok, a_rx, b_rx, ms}
-- After both sides selected a pair: each sends opts.n (4) datagrams of
-- opts.size (200) bytes; waits up to opts.timeout_ms (2000) until each side
-- has received every one of the other's (rx events), or until time is up.
-- ok means data flowed both ways (at least one datagram each way).
-- opts.conn (an ice_connect outcome; by default the one a and b last
-- made, natlab.conn_of): selected/switched events heard meanwhile are
-- noted in it (natlab.claim). opts.at (a function) is
-- called once, opts.at_ms after the sends began, if they still run then.
function scen.two_way(a, b, opts)
  opts = opts or {}
  local n = opts.n or 4
  local t0 = natlab.now_ms()
  local cmd = { cmd = "send", n = n, size = opts.size or 200, interval_ms = opts.interval_ms or 5 }
  a:send(cmd)
  b:send(cmd)
  local seen = { {}, {} }
  local count = { 0, 0 }
  -- the connection a and b made (in that order), if ice_connect made it
  local conn = opts.conn
  if not conn then
    local c = natlab.conn_of[a]
    if c and natlab.conn_of[b] == c and c.names then conn = c end
  end
  local deadline = t0 + (opts.timeout_ms or 2000)
  local at = opts.at and t0 + (opts.at_ms or 0) or nil
  while (count[1] < n or count[2] < n) and natlab.now_ms() < deadline do
    local wake = deadline
    if at then
      if natlab.now_ms() >= at then
        opts.at()
        at = nil
      else
        wake = math.min(deadline, at)
      end
    end
    local i, ev = natlab.poll({ a, b }, math.max(0, wake - natlab.now_ms()))
    if not i and natlab.now_ms() < wake then break end
    if not i then
      -- woken for opts.at
    elseif ev.ev == "rx" and ev.seq and not seen[i][ev.seq] then
      seen[i][ev.seq] = true
      count[i] = count[i] + 1
    elseif conn and (ev.ev == "selected" or ev.ev == "switched") then
      -- the side's name in the connection, whatever order a and b came in
      local p = i == 1 and a or b
      natlab.claim(conn, (conn.procs and conn.procs[2] == p) and conn.names[2] or conn.names[1], ev)
    end
  end
  return { ok = count[1] > 0 and count[2] > 0, a_rx = count[1], b_rx = count[2], n = n,
           ms = natlab.now_ms() - t0 }
end

-- scen.stop({proc, ...}): ask each agent to stop, kill it if it has not
-- exited natlab.stop_grace_ms (5 s, docs/lua-api.md) after the first `stop`.
function scen.stop(procs)
  for _, a in ipairs(procs) do a:send { cmd = "stop" } end
  local deadline = natlab.now_ms() + natlab.stop_grace_ms
  for _, a in ipairs(procs) do
    if not a:wait(math.max(0, deadline - natlab.now_ms())) then a:kill() end
  end
end

-- scen.need_lab(): skip the cell when the build has no routes or NATs.
function scen.need_lab()
  if not (natlab.features.route and natlab.features.nat) then
    natlab.skip("this natlab was built without emu routes or NATs")
  end
end

-- scen.percentile(list, q) -> value (nearest rank on a sorted copy), nil if empty
function scen.percentile(list, q)
  if #list == 0 then return nil end
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local k = math.max(1, math.ceil(q / 100 * #s))
  return s[k]
end

-- scen.watch(net, sides, p[, opts]) -> wire observer or nil
-- Wire observation (natlab.wire) of a call between @sides (node names made
-- by scen.side): each side's outermost NAT ("<side>-cgn", else
-- "<side>-nat": its outside interface) or, for an open side, the host
-- itself, and the "turn" host when it exists. opts.points = {side = node
-- name, or {name=, addr=, ifname=} for a point named otherwise} names a
-- side's outermost NAT when it is not called that (its
-- outside must face the internet, and each side needs its own), or the
-- side's host itself when sides share their NAT: then opts.pub = {side =
-- node name} names the NAT whose public address is the side's outside
-- (hairpin.lua, cgnat.lua same-carrier: the call meets inside that NAT and
-- never crosses its outside). opts.ipv6: count IPv6 flows too (a
-- dual-stack lab: net.addr6). Call after scen.servers and before the
-- agents start. p.wire == false turns it off (bench/wire_overhead).
function scen.watch(net, sides, p, opts)
  if p and p.wire == false then return nil end
  opts = opts or {}
  local points = {}
  for _, side in ipairs(sides) do
    local name = side
    local given = (opts.points or {})[side]
    if type(given) == "table" then
      -- a point the lab does not name by convention (natlab dut's core,
      -- on the interface facing a real device): {name=, addr=, ifname=}
      name = given.name
    elseif given then name = given
    elseif net.nodes[side .. "-cgn"] then name = side .. "-cgn"
    elseif net.nodes[side .. "-nat"] then name = side .. "-nat" end
    -- a NAT counts on its outside interface only (after source NAT
    -- leaving, before anything arriving); a host on all of them
    local pub = (opts.pub or {})[side]
    -- IPv6 crosses the lab's NATs untranslated: at a NAT point the side
    -- host's own IPv6 address is the local end
    local pt = { name = name, node = net.nodes[name], side = side, addr = net.addr[name], role = "side",
                 ifname = name ~= side and net.iface[name] or nil, pub = pub and net.addr[pub] or nil,
                 addr6 = opts.ipv6 and net.addr6 and net.addr6[side] or nil }
    if type(given) == "table" then pt.addr, pt.ifname = given.addr, given.ifname end
    points[#points + 1] = pt
  end
  -- the STUN server's traffic shows at the sides' points (kind "stun"):
  -- one table less to commit per cell
  if net.nodes.turn then
    points[#points + 1] = { name = "turn", node = net.nodes.turn, addr = net.addr.turn, role = "turn",
                            addr6 = opts.ipv6 and net.addr6 and net.addr6.turn or nil }
  end
  local P = scen.TURN_PORTS
  local a6 = opts.ipv6 and net.addr6 or {}
  local obs = natlab.wire.observer {
    points = points, sides = sides, stun = net.addr.stun, stun6 = a6.stun, ipv6 = opts.ipv6 or nil,
    turn = net.addr.turn and { addr = net.addr.turn, addr6 = a6.turn, udp = { P.udp }, tcp = { P.tcp, P.tcp_web },
                               tls = { P.tls, P.tls_web } } or nil,
  }
  obs:watch()
  return obs
end

-- scen.data_phase(net, l, r, res, cell[, opts]) -> two_way result
-- The data phase of a connected call and its verdict: numbered datagrams
-- both ways (scen.two_way, hearing switched events), then, when net.wire
-- observes the call, the wire record of the data window and the claims
-- judged against it (scen.record_class with opts.wire). opts.settle_ms:
-- the datagrams keep coming (every 20 ms) for that long before the window
-- opens, so a stack that switches pairs within it is judged on where it
-- went; one that switches later is judged on the path it was on.
-- opts.names as for record_class; opts.two_way passed on to two_way.
-- opts.consent_ms: no data plane in common: send no data and judge a
-- window of that long holding only the agents' consent checks (their
-- consent period must be shorter); returns {ok = true, consent_only}.
-- opts.note: a sentence the cell's message carries (say, why the window
-- held no data), passed on to record_class.
-- With settle_ms, the data keeps flowing this long after the judged
-- window opens (scen.data_phase).
local WINDOW_TAIL_MS = 500

function scen.data_phase(net, l, r, res, cell, opts)
  opts = opts or {}
  local names = opts.names or { "left", "right" }
  local obs = net.wire
  local flow, basis
  -- the window opens: its counters, and the pair each side is on (a
  -- switch inside the window leaves its data on either pair:
  -- natlab.wire.check_claims)
  local function open_window()
    if not obs then return end
    obs:snap("data0")
    res.at_window = {}
    for _, side in ipairs(names) do res.at_window[side] = res.selected[side] end
  end
  open_window()
  if opts.consent_ms then
    -- no data plane in common: the window holds the consent checks
    -- (RFC 7675) the agents send on their selected pairs; the pair seen
    -- both ways on the wire settles (docs/expected-matrix.md, V6). With
    -- settle_ms the window opens that long after the selection, once the
    -- checks of the pairs not selected (their retransmissions over TCP
    -- and TLS relays outweigh a consent check) have ended
    local function listen(ms)
      local deadline = natlab.now_ms() + ms
      while natlab.now_ms() < deadline do
        local i, ev = natlab.poll({ l, r }, deadline - natlab.now_ms())
        if not i then break end
        if ev.ev == "selected" or ev.ev == "switched" then natlab.claim(res, names[i], ev) end
      end
    end
    -- each side is judged by the flows that carried its own checks: the
    -- captures of its point say which (25_wire.lua, wire.own_requests)
    if obs then obs:watch_requests() end
    if (opts.settle_ms or 0) > 0 then
      listen(opts.settle_ms)
      if obs then
        obs:snap("data0")
        obs:mark_requests()
      end
    end
    listen(opts.consent_ms)
    flow, basis = { ok = true, consent_only = true, ms = opts.consent_ms }, "consent"
  else
    local tw = {}
    for k, v in pairs(opts.two_way or {}) do tw[k] = v end
    tw.conn = res
    local settle = opts.settle_ms or 0
    if settle > 0 then
      -- one longer stream: its part after settle_ms is the window, so the
      -- data of a stack that switched meanwhile shows where it went since
      local iv = tw.interval_ms or 20
      tw.interval_ms = iv
      -- the window opens on the lab's clock, the stream runs on each
      -- agent's: on a loaded machine the lab woke up to 200 ms late and a
      -- tail of 4 datagrams (60 ms) had ended, so a side whose data had
      -- flowed was judged "none of its data was seen" (36 of 2916 grid
      -- cells). The tail after settle_ms is WINDOW_TAIL_MS long.
      tw.n = math.max(tw.n or 4, math.ceil(WINDOW_TAIL_MS / iv)) + math.ceil(settle / iv)
      tw.timeout_ms = (tw.timeout_ms or 2000) + settle
      tw.at_ms = settle
      tw.at = open_window
    end
    flow = scen.two_way(l, r, tw)
  end
  local w = nil
  if obs then
    w = obs:judge("data0", "data1", { basis = basis, requests = basis == "consent" and obs:requests() or nil })
    natlab.observe("wire_cost_ms", obs.cost)
  end
  scen.record_class(res, cell, { names = names, wire = w, known_addrs = obs and obs:addrs(), note = opts.note })
  return flow
end

-- scen.record_class(res, cell[, opts]) -> class
-- Records an ice_connect outcome (opts.record = false) against an expected
-- *class* (scen.class): the cell's path is the exact one (srflx, prflx,
-- relay-tls, ...), so the report colours it; when its class is the expected
-- one, expected_path is set to that exact path (the expectation "direct"
-- is met by srflx), otherwise it stays the class and the cell fails with
-- both named. observations.expected_class keeps the table's word.
-- opts.note: a sentence for the message (after a failure's own words).
function scen.record_class(res, cell, opts)
  opts = opts or {}
  local names = opts.names or { "a", "b" }
  -- the claim-derived path of the pairs the sides ended on
  if res.ok then res.path = natlab.path_of(res.selected[names[1]], res.selected[names[2]]) end
  local class = scen.class(res.path)
  local exp = cell.expected_path
  local rec = { path = res.path, connect_ms = res.connect_ms, selected = res.selected[names[1]],
                candidates = res.candidates, message = res.reason,
                pairs = next(res.pairs or {}) and res.pairs or nil }
  local w = opts.wire
  local contradiction = nil
  if w then
    -- the verdict's class is the wire's (docs/expected-matrix.md
    -- "Verdicts"); each side's claim is checked against its own data
    rec.wire = w
    natlab.observe("claim_class", class)
    if res.ok then
      contradiction = natlab.wire.check_claims(res, w, names, opts.known_addrs)
      class = w.settled.class
      rec.select_ms = res.connect_ms
      if not contradiction and class ~= "failed" then
        local last = 0
        for _, side in ipairs(names) do last = math.max(last, (res.claim_ms or {})[side] or 0) end
        rec.settled_ms = last
      end
      if #(res.switches or {}) > 0 then
        rec.switches = res.switches
        local first = scen.class(natlab.path_of(res.first[names[1]], res.first[names[2]]))
        if first ~= class then rec.switch = first .. "->" .. class end
      end
    end
  end
  natlab.observe("class", class)
  if exp then
    natlab.observe("expected_class", exp)
    if contradiction then
      rec.outcome = "fail"
      rec.message = contradiction
    elseif class == exp then
      rec.expected_path = res.path
    elseif res.ok then
      if w then
        rec.message = string.format("the wire shows %s (claimed %s), expected class %s", class, res.path, exp)
      else
        rec.message = string.format("observed %s (class %s), expected class %s", res.path, class, exp)
      end
    end
  elseif contradiction then
    rec.outcome = "fail"
    rec.message = contradiction
  end
  if res.selected[names[2]] then natlab.observe("selected_" .. names[2], res.selected[names[2]]) end
  if opts.note then rec.message = rec.message and (rec.message .. " (" .. opts.note .. ")") or opts.note end
  natlab.result(rec)
  return class
end
