-- 40_impls.lua - which implementation plays each part: STUN/TURN servers
-- (natlab's own or coturn), ICE agents (natlab-ice, the libnice adapter
-- or any program speaking docs/agent-protocol.md), and the classic
-- RFC 3489 classifier (Debian's stun client against stund).
--
-- Third-party pieces are optional at run time: when one is missing, the
-- cell that needs it ends as `skipped` naming the package to install
-- (natlab.skip), never as passed.

-- ---------------------------------------------------------------- agents

-- Implementations known by name. Anything else is a program name (looked
-- up like natlab.bin) or a path to an executable.
local agent_impls = {
  ["natlab-ice"] = { bin = "natlab-ice", install = "natlab-ice is built with natlab (./scripts/build)" },
  ["nice"] = { bin = "natlab-nice",
               install = "install libnice-dev (apt-get install libnice-dev) and rebuild: " ..
                         "natlab-nice is built only when libnice is found" },
  -- pion/ice v2 (Go), agents/adapters/pion: datagram plane, one component
  ["pion"] = { bin = "natlab-pion",
               install = "install Go and pion/ice (scripts/install-deps --impls: golang-go, " ..
                         "golang-github-pion-ice.v2-dev) and rebuild: natlab-pion is built only " ..
                         "when go and Debian's pion sources are found" },
}
-- WebRTC stacks wrapped in Node (agents/adapters/<name>/, one shared
-- helper in agents/adapters/common/node): they need node and their npm
-- package in agents/adapters/node_modules.
local function node_install(package)
  return "install node and the npm packages (scripts/install-deps --impls runs npm ci in " ..
         "agents/adapters) and rebuild: natlab-%s is put into build/bin only when " ..
         package .. " is found"
end
agent_impls["libwebrtc"] = { bin = "natlab-libwebrtc",
                             install = node_install("@roamhq/wrtc"):format("libwebrtc") }
agent_impls["libdatachannel"] = { bin = "natlab-libdatachannel",
                                  install = node_install("node-datachannel"):format("libdatachannel") }
-- aioice (Python), agents/adapters/aiortc: datagram plane
agent_impls["aiortc"] = { bin = "natlab-aiortc",
                          install = "install python3-aioice (scripts/install-deps --impls) and rebuild: " ..
                                    "natlab-aiortc is linked into build/bin only when /usr/bin/python3 imports aioice" }
-- browsers (agents/adapters/chromium, firefox; docs/implementations.md):
-- linked into build/bin only when the browser and puppeteer-core are there
agent_impls["chromium"] = { bin = "natlab-chromium",
  install = "install Debian's chromium and the adapters' npm packages (scripts/install-deps --browsers) " ..
            "and rebuild: natlab-chromium is linked only when /usr/bin/chromium and puppeteer-core are found" }
agent_impls["firefox"] = { bin = "natlab-firefox",
  install = "install Debian's firefox-esr and the adapters' npm packages (scripts/install-deps --browsers) " ..
            "and rebuild: natlab-firefox is linked only when firefox-esr and puppeteer-core are found" }
-- each also by its program's name
for _, n in ipairs({ "nice", "pion", "aiortc", "libwebrtc", "libdatachannel", "chromium", "firefox" }) do
  agent_impls["natlab-" .. n] = agent_impls[n]
end
natlab.agent_impls = { "natlab-ice", "nice", "pion", "aiortc", "libwebrtc", "libdatachannel", "chromium",
                       "firefox" }

-- natlab.impl_path(name) -> path | nil, why, known: the program behind an
-- implementation name, or why it is not available (with what to install);
-- known is true for the names natlab ships an adapter for.
function natlab.impl_path(name)
  name = name or "natlab-ice"
  local known = agent_impls[name]
  local bin = known and known.bin or name
  local path = natlab.bin(bin)
  if path then return path end
  if known then return nil, bin .. " is not available: " .. known.install, true end
  -- a name natlab does not ship: the user's adapter, so say how to name it
  local shipped = table.concat(natlab.agent_impls, ", ")
  if tostring(name):find("/", 1, true) then
    return nil, "agent '" .. name .. "' is not an executable file: check the path given to " ..
                "-p left_impl=/right_impl= (relative to the directory natlab runs in; " ..
                "chmod +x it), or name a shipped implementation (" .. shipped .. ")"
  end
  return nil, "agent '" .. name .. "' is not in build/bin, $NATLAB_BIN_DIR or PATH: give " ..
              "the path of your adapter (e.g. ./my-adapter) or a shipped implementation (" ..
              shipped .. ")"
end

-- A param of kind "agent_impl" names an agent: a shipped implementation
-- (installed or not: a missing one skips its cells, naming what to
-- install) or a program that is there. Anything else stops the run before
-- a cell starts, instead of erring in every cell of a sweep.
natlab._kinds.agent_impl = function(v)
  local ok, why, known = natlab.impl_path(tostring(v))
  if ok or known then return nil end
  return why
end

-- natlab.agent(net, node_name, opts) -> proc
-- opts: impl (a name from natlab.agent_impls, a program name or a path;
-- default "natlab-ice"), role ("controlling"/"controlled"), stun
-- ("host:port" or list), turn (list of "udp|tcp|tls:host:port"),
-- turn_user, turn_pass, policy, trickle (bool), nomination, args (extra
-- argv words), name. A shipped implementation that is not installed
-- skips the cell (saying what to install); an unknown one is an error.
function natlab.agent(net, node_name, opts)
  opts = opts or {}
  local impl = opts.impl or "natlab-ice"
  local bin, why, known = natlab.impl_path(impl)
  -- a shipped adapter that is not installed skips; a name or path that
  -- leads nowhere is the scenario's (or the user's) mistake
  if not bin and known then natlab.skip(why) end
  if not bin then error("natlab.agent: " .. why, 0) end
  local argv = { bin, "--role", opts.role or "controlling" }
  local function add(flag, v)
    if v == nil then return end
    if type(v) == "table" then
      for _, x in ipairs(v) do argv[#argv + 1] = flag; argv[#argv + 1] = tostring(x) end
    else
      argv[#argv + 1] = flag; argv[#argv + 1] = tostring(v)
    end
  end
  add("--stun", opts.stun)
  add("--turn", opts.turn)
  add("--turn-user", opts.turn_user)
  add("--turn-pass", opts.turn_pass)
  add("--policy", opts.policy)
  add("--nomination", opts.nomination)
  if opts.trickle then argv[#argv + 1] = "--trickle" end
  for _, a in ipairs(opts.args or {}) do argv[#argv + 1] = a end
  local node = net and net.nodes and net.nodes[node_name] or natlab.find(node_name)
  if not node then error("natlab.agent: no node '" .. tostring(node_name) .. "'", 2) end
  -- every agent gets a /tmp of its own that goes with it (a browser's
  -- profile, sockets and caches never reach the host's /tmp)
  return node:spawn(argv, { name = opts.name or node_name, private_tmp = true })
end

-- ---------------------------------------------------------- capabilities

-- The capabilities an agent may declare in its `ready` event
-- (docs/agent-protocol.md, "Capabilities"), with the words a message uses.
natlab.capability_names = {
  ["trickle"] = "trickle ICE (RFC 8838)",
  ["restart"] = "ICE restart",
  ["turn-udp"] = "TURN over UDP",
  ["turn-tcp"] = "TURN over TCP",
  ["turn-tls"] = "TURN over TLS",
  ["ice-tcp"] = "ICE-TCP (RFC 6544)",
  ["ipv6"] = "IPv6",
  ["components"] = "more than one component",
  ["consent"] = "consent freshness (RFC 7675)",
}

local ready_of = setmetatable({}, { __mode = "k" })

-- natlab.ready(proc[, timeout_ms]) -> ready event | nil, why
-- Waits for the program's `ready` (its first event: an agent's, and
-- natlab's servers' too), once; later calls return the same event. Events
-- before it are not expected (docs/agent-protocol.md) and are dropped.
-- The default wait, 60 s, is a browser's start on a loaded host (alone,
-- Chromium takes 1.3-3.5 s and Firefox 4-6 s; two Firefoxes starting at
-- once on 2 busy cores took 12 s, and with the CPU 99 % contended, a run
-- queue of 30, over 40 s); a working agent costs only its own start-up.
function natlab.ready(proc, timeout_ms)
  if ready_of[proc] then return ready_of[proc] end
  local deadline = natlab.now_ms() + (timeout_ms or 60000)
  while true do
    local ev, why = proc:event(math.max(0, deadline - natlab.now_ms()))
    if not ev then return nil, "no ready event (" .. tostring(why) .. ")" end
    if ev.ev == "ready" then
      ready_of[proc] = ev
      return ev
    end
  end
end

-- natlab.ready_seen(proc) -> ready event | nil: the one natlab.ready (or
-- natlab.ready_note) already has, without waiting.
function natlab.ready_seen(proc)
  return ready_of[proc]
end

-- natlab.ready_note(proc, ev): a `ready` event of @proc read by someone
-- else (natlab.ice_connect's loop), kept for natlab.ready and
-- natlab.capability.
function natlab.ready_note(proc, ev)
  if not ready_of[proc] then ready_of[proc] = ev end
end

-- natlab.capability(proc, name) -> true | false | nil
-- What the agent declared about capability @name in its ready event: true,
-- false (declared missing), or nil (not declared: judged as if present).
function natlab.capability(proc, name)
  local ev = natlab.ready(proc)
  local caps = ev and type(ev.capabilities) == "table" and ev.capabilities or {}
  local v = caps[name]
  if v == true or v == false then return v end
  return nil
end

-- natlab.need(side_name, proc, alternatives[, why])
-- The cell needs one of @alternatives (capability names, or one name) from
-- the agent @proc; when the agent declared every one of them missing, the
-- cell ends `unsupported` naming the side, what it lacks and @why. An
-- agent that declared a capability, or said nothing about it, is judged
-- on what it does: it still fails when it cannot.
function natlab.need(side, proc, alts, why)
  if type(alts) == "string" then alts = { alts } end
  local words = {}
  for _, a in ipairs(alts) do
    if natlab.capability(proc, a) ~= false then return end
    words[#words + 1] = natlab.capability_names[a] or a
  end
  local impl = (ready_of[proc] or {}).impl
  natlab.unsupported(string.format("%s%s declares no %s%s", side,
    impl and (" (" .. tostring(impl) .. ")") or "", table.concat(words, " and no "),
    why and (", which " .. why) or ""))
end

-- --------------------------------------------------------------- servers

-- The settings both server implementations get, so that a scenario sees
-- the same service whichever runs: natlab-turn-server's defaults
-- (docs/turn.md), passed explicitly to coturn too.
local turn_defaults = {
  port = 3478, user = "natlab", pass = "natlab", realm = "natlab",
  lifetime = 600, max_lifetime = 3600, perm_lifetime = 300,
  channel_lifetime = 600, nonce_lifetime = 600,
}

local function with_defaults(o, defaults)
  local r = {}
  for k, v in pairs(defaults) do r[k] = v end
  for k, v in pairs(o or {}) do r[k] = v end
  return r
end

-- A throw-away certificate for TURN over TLS, made with openssl in @node
-- (the file system is the host's; the files go once the server is up).
local function make_cert(node)
  local openssl = natlab.bin("openssl")
  if not openssl then natlab.skip("TURN over TLS needs openssl (apt-get install openssl)") end
  local base = os.tmpname()
  local cert, key = base .. ".crt", base .. ".key"
  os.remove(base)
  local p = node:spawn({ openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                         "-subj", "/CN=natlab-lab", "-keyout", key, "-out", cert },
                       { name = "openssl-" .. node:name(), stdio = "null" })
  local st = p:wait(10000)
  if st ~= 0 then
    if not st then p:kill() end
    os.remove(cert); os.remove(key)
    error("natlab.server: openssl could not make a certificate (status " .. tostring(st) .. ")", 0)
  end
  return cert, key
end

local natlab_servers = {
  stun = function(addr, o)
    local argv = { "natlab-stun-server", "--addr", addr, "--port", tostring(o.port) }
    if o.alt_addr then
      argv[#argv + 1] = "--addr"; argv[#argv + 1] = o.alt_addr
      argv[#argv + 1] = "--alt-port"; argv[#argv + 1] = tostring(o.alt_port or o.port + 1)
    end
    return argv
  end,
  turn = function(addr, o)
    local argv = { "natlab-turn-server", "--user", o.user .. ":" .. o.pass, "--realm", o.realm,
                   "--lifetime", tostring(o.lifetime), "--max-lifetime", tostring(o.max_lifetime),
                   "--perm-lifetime", tostring(o.perm_lifetime),
                   "--channel-lifetime", tostring(o.channel_lifetime),
                   "--nonce-lifetime", tostring(o.nonce_lifetime) }
    local function add(...)
      for _, w in ipairs({ ... }) do argv[#argv + 1] = w end
    end
    -- --listen opens UDP and TCP on the port
    for _, port in ipairs(o.plain_ports) do add("--listen", addr .. ":" .. port) end
    if o.cert then
      for _, port in ipairs(o.tls_ports) do add("--tls-listen", addr .. ":" .. port) end
      add("--cert", o.cert, "--key", o.key)
    end
    return argv
  end,
}

-- coturn's turnserver with the same service: no configuration file (-n),
-- no telnet CLI, explicit listening and relay addresses, long-term
-- credentials with the same user, realm and lifetimes, its log on the
-- cell's log (stderr), no pid file, its user database in memory.
local function coturn_argv(kind, addr, o)
  local argv = { "turnserver", "-n", "--no-cli", "--listening-ip", addr, "--relay-ip", addr,
                 "--no-dtls",
                 "--log-file", "stdout", "--simple-log", "--pidfile", "/dev/null",
                 "--userdb", ":memory:" }
  local function add(...)
    for _, w in ipairs({ ... }) do argv[#argv + 1] = w end
  end
  if kind == "stun" then
    add("--listening-port", tostring(o.port), "--stun-only", "--no-tls")
    if o.alt_addr then
      -- RFC 5780 needs the second address (CHANGE-REQUEST).
      add("--listening-ip", o.alt_addr, "--alt-listening-port", tostring(o.alt_port or o.port + 1))
    else
      add("--no-rfc5780")
    end
    return argv
  end
  -- coturn has no knob for the default allocation lifetime: it is 600 s,
  -- natlab-turn-server's default too.
  if o.lifetime ~= 600 then
    natlab.log("coturn: allocation lifetime stays 600 s (asked " .. tostring(o.lifetime) .. ")")
  end
  add("--lt-cred-mech", "--user", o.user .. ":" .. o.pass, "--realm", o.realm,
      "--max-allocate-lifetime", tostring(o.max_lifetime),
      "--permission-lifetime", tostring(o.perm_lifetime),
      "--channel-lifetime", tostring(o.channel_lifetime),
      "--stale-nonce=" .. tostring(o.nonce_lifetime), "--no-rfc5780")
  -- coturn takes one plain port (UDP and TCP) and one TLS port; the others
  -- become aux servers (UDP and TCP). With a certificate coturn also
  -- accepts TLS on its plain TCP ports (it looks at the first bytes), so
  -- every TLS port natlab-turn-server would open is served.
  add("--listening-port", tostring(o.plain_ports[1]))
  local aux = {}
  for i = 2, #o.plain_ports do aux[#aux + 1] = o.plain_ports[i] end
  if o.cert and #o.tls_ports > 0 then
    add("--tls-listening-port", tostring(o.tls_ports[1]), "--cert", o.cert, "--pkey", o.key)
    for i = 2, #o.tls_ports do aux[#aux + 1] = o.tls_ports[i] end
  else
    add("--no-tls")
  end
  for _, port in ipairs(aux) do add("--aux-server", addr .. ":" .. port) end
  return argv
end

natlab.server_impls = { "natlab", "coturn" }

-- The ports of a TURN server: opts.ports = {udp=, tcp=, tls=, tcp_web=,
-- tls_web=} (any subset), else opts.port (3478) and opts.tls_port (a
-- number or a list). Plain ports get UDP and TCP, TLS ports TLS.
local function turn_ports(o)
  local plain, tls, seen = {}, {}, {}
  local function put(list, port)
    if port and not seen[port] then seen[port] = true; list[#list + 1] = port end
  end
  if o.ports then
    put(plain, o.ports.udp); put(plain, o.ports.tcp); put(plain, o.ports.tcp_web)
    put(tls, o.ports.tls); put(tls, o.ports.tls_web)
  else
    put(plain, o.port)
    for _, port in ipairs(type(o.tls_port) == "table" and o.tls_port or { o.tls_port }) do put(tls, port) end
  end
  if #plain == 0 then error("natlab.server: a TURN server needs a UDP/TCP port", 3) end
  return plain, tls
end

-- natlab.server(net, node_name, kind[, opts]) -> proc | nil, err
-- kind: "stun" or "turn". opts: impl ("natlab" default, or "coturn"),
-- port (3478), alt_addr/alt_port (stun: the second address for RFC 5780),
-- turn: user, pass, realm, lifetime, max_lifetime, perm_lifetime,
-- channel_lifetime, nonce_lifetime, ports or port/tls_port (see
-- turn_ports), the TLS certificate as cert/key files or cert_dir (with
-- turn-cert.pem and turn-key.pem), else one the lab makes; ready_ms
-- (5000); args (extra words for that implementation's command line, e.g.
-- coturn's "--user-quota=1"). Returns once the server answers.
-- coturn missing skips the cell; natlab's own server missing returns nil.
function natlab.server(net, node_name, kind, opts)
  opts = opts or {}
  local impl = opts.impl or "natlab"
  if kind ~= "stun" and kind ~= "turn" then
    error("natlab.server: unknown server '" .. tostring(kind) .. "' (stun, turn)", 2)
  end
  if impl ~= "natlab" and impl ~= "coturn" then
    error("natlab.server: unknown implementation '" .. tostring(impl) .. "' (natlab, coturn)", 2)
  end
  local node = net.nodes[node_name]
  local addr = net.addr[node_name]
  if not node or not addr then error("natlab.server: no node '" .. tostring(node_name) .. "' in this net", 2) end
  local o = with_defaults(opts, kind == "turn" and turn_defaults or { port = 3478 })
  if impl == "coturn" and not natlab.bin("turnserver") then
    natlab.skip("coturn is not installed (apt-get install coturn)")
  end
  local own_bin = "natlab-" .. kind .. "-server"
  if impl == "natlab" and not natlab.bin(own_bin) then
    return nil, own_bin .. " not found next to natlab or in PATH"
  end
  local made = false
  if kind == "turn" then
    o.plain_ports, o.tls_ports = turn_ports(o)
    if o.cert_dir and not o.cert then
      o.cert, o.key = o.cert_dir .. "/turn-cert.pem", o.cert_dir .. "/turn-key.pem"
    end
    if #o.tls_ports > 0 and not o.cert then
      o.cert, o.key = make_cert(node)
      made = true
    end
  end
  local function cleanup()
    if made then os.remove(o.cert); os.remove(o.key) end
  end
  local p
  if impl == "natlab" then
    local argv = natlab_servers[kind](addr, o)
    argv[1] = natlab.bin(own_bin)
    for _, w in ipairs(o.args or {}) do argv[#argv + 1] = w end
    p = node:spawn(argv, { name = kind .. "-" .. node_name })
    local ready, why = natlab.ready(p, o.ready_ms)
    if not ready then cleanup(); return nil, own_bin .. " sent " .. why end
  else
    local argv = coturn_argv(kind, addr, o)
    argv[1] = natlab.bin("turnserver")
    for _, w in ipairs(o.args or {}) do argv[#argv + 1] = w end
    -- sh puts coturn's log (stdout) on stderr, which is the cell's log.
    local sh = { "/bin/sh", "-c", 'exec "$@" >&2', "coturn" }
    for _, w in ipairs(argv) do sh[#sh + 1] = w end
    p = node:spawn(sh, { name = kind .. "-coturn-" .. node_name, stdio = "null" })
    -- coturn has no ready event: it is ready when it answers a Binding.
    local port = kind == "turn" and o.plain_ports[1] or o.port
    local deadline = natlab.now_ms() + (o.ready_ms or 5000)
    local ok, err
    repeat
      ok, err = node:stun_binding(addr, port, 200)
      if not ok and p:wait(0) then cleanup(); return nil, "coturn's turnserver exited at start (see its log)" end
    until ok or natlab.now_ms() >= deadline
    if not ok then
      cleanup(); p:kill()
      return nil, "coturn did not answer a Binding in time: " .. tostring(err)
    end
  end
  -- Both servers read the certificate at start-up.
  cleanup()
  return p
end

-- natlab.start_servers(net, impl[, nodes]) -> {stun=proc, turn=proc}: the
-- usual pair of servers on nodes "stun" and "turn" (or nodes = {stun=,
-- turn=}), by implementation ("natlab" or "coturn", a scenario's
-- `servers` parameter); an entry is nil when natlab's own server is not
-- built; coturn missing skips the cell.
function natlab.start_servers(net, impl, nodes)
  nodes = nodes or { stun = "stun", turn = "turn" }
  local r = {}
  for kind, node in pairs(nodes) do
    if impl == "coturn" or natlab.bin("natlab-" .. kind .. "-server") then
      r[kind] = assert(natlab.server(net, node, kind, { impl = impl }))
    end
  end
  return r
end

-- ------------------------------------------------------ classic classifier

-- The stun client's verdict (RFC 3489 §10.1 classes) as natlab names.
local classic_names = {
  ["Open"] = "open",
  ["Independent Mapping, Independent Filter"] = "full-cone",
  ["Independent Mapping, Address Dependent Filter"] = "restricted-cone",
  ["Independent Mapping, Port Dependent Filter"] = "port-restricted-cone",
  ["Dependent Mapping"] = "symmetric",
  ["Firewall"] = "firewall",
  ["Blocked or could not reach STUN server"] = "blocked",
}

local function run_classic(node, client, server_addr, name)
  local p = node:spawn({ client, server_addr }, { name = name })
  local text = nil
  local deadline = natlab.now_ms() + 20000
  while natlab.now_ms() < deadline do
    local l = p:line(deadline - natlab.now_ms())
    if not l then break end
    local v = l:match("^Primary: (.-)%s*$")
    if v then text = v end
  end
  if not p:wait(1000) then p:kill() end
  return text
end

-- natlab.classic_stun(net, host_node, server_node) -> verdict | nil, err
-- Runs stund on @server_node (it needs two addresses: a second one is
-- added there and routed by the internet core) and Debian's stun client
-- on @host_node. verdict = {class, mapping ("ei"|"dependent"), filtering
-- ("ei"|"ad"|"apd"), hairpin (bool), ports ("preserve"|"random"), text}.
-- class is "open", "full-cone", "restricted-cone", "port-restricted-cone",
-- "symmetric", "firewall" or "blocked". Skips the cell without the
-- stun-client and stun-server packages. Call it once per net.
function natlab.classic_stun(net, host_node, server_node)
  local client = natlab.bin("stun")
  if not client then natlab.skip("the classic classifier needs Debian's stun client (apt-get install stun-client)") end
  local stund = natlab.bin("stund")
  if not stund then natlab.skip("the classic classifier needs stund (apt-get install stun-server)") end
  local host, srv = net.nodes[host_node], net.nodes[server_node]
  local addr = net.addr[server_node]
  if not host or not srv or not addr then
    error("natlab.classic_stun: unknown node '" .. tostring(host ~= nil and server_node or host_node) .. "'", 2)
  end
  if not net.core or not addr:match("^203%.0%.113%.") then
    error("natlab.classic_stun: the server node must be a net:public_host", 2)
  end
  -- The second address: 198.51.100.k/32 (RFC 5737) on the server's
  -- uplink, which is eth0 on a public host.
  net.alt_addrs = (net.alt_addrs or 0) + 1
  local alt = string.format("198.51.100.%d", net.alt_addrs)
  srv:addr("eth0", alt .. "/32")
  net.core:route(alt .. "/32", addr)
  local d = srv:spawn({ stund, "-h", addr, "-a", alt, "-p", "3478", "-o", "3479" },
                      { name = "stund-" .. server_node, stdio = "null" })
  -- stund says nothing when it is up: ask it from its own node (an open
  -- internet) until it answers.
  local deadline = natlab.now_ms() + 5000
  local up = nil
  while natlab.now_ms() < deadline do
    if d:wait(0) then return nil, "stund exited at start (see its log)" end
    up = run_classic(srv, client, addr, "stun-selftest")
    if up == "Open" then break end
    natlab.sleep_ms(100)
  end
  if up ~= "Open" then
    d:kill()
    return nil, "stund does not answer from its own node (its client says: " .. tostring(up) .. ")"
  end
  local text = run_classic(host, client, addr, "stun-" .. host_node)
  d:kill()
  if not text then return nil, "the stun client printed no verdict" end
  local v = { text = text }
  local head = text:gsub(", preserves ports", ""):gsub(", random port", "")
                   :gsub(", will hairpin", ""):gsub(", no hairpin", "")
  v.class = classic_names[head] or "unknown"
  v.hairpin = text:find("will hairpin", 1, true) ~= nil
  if text:find("preserves ports", 1, true) then v.ports = "preserve"
  elseif text:find("random port", 1, true) then v.ports = "random" end
  if head:find("^Independent Mapping") then v.mapping = "ei"
  elseif head == "Dependent Mapping" then v.mapping = "dependent" end
  if head:find("Independent Filter$") then v.filtering = "ei"
  elseif head:find("Address Dependent Filter$") then v.filtering = "ad"
  elseif head:find("Port Dependent Filter$") then v.filtering = "apd" end
  return v
end
