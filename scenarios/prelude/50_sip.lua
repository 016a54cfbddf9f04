-- 50_sip.lua - SIP through NATs (scenarios/sip.lua, docs/sip.md): a
-- registrar/proxy (kamailio), a media relay (rtpengine) and user agents
-- (baresip) started inside lab nodes with configurations generated per cell
-- into the cell's log directory, and the wire reading that judges a call:
-- a reader of the lab's own pcap captures (emu/capture.c, SLL2) that
-- finds SIP messages (registrations, INVITE answers, SDP) and counts RTP
-- packets per flow at each node. Nothing here believes a UA's output.

local sip = {}
natlab.sip = sip

sip.PORT = 5060              -- RFC 3261: "The default is 5060 for sip: using UDP, TCP, or SCTP"
sip.TLS_PORT = 5061          -- "... and 5061 for sips: using TCP"
sip.UA_RTP = { 10000, 10019 } -- baresip's RTP port range
sip.RELAY_RTP = { 30000, 30099 } -- rtpengine's
sip.NG_PORT = 2223            -- rtpengine's control (ng) port
sip.BARESIP_MODULES = "/usr/lib/baresip/modules"

-- kamailio's modules live under the multiarch library directory
local function kamailio_modules()
  for _, d in ipairs({ "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib/i386-linux-gnu",
                       "/usr/lib/arm-linux-gnueabihf", "/usr/lib64", "/usr/lib" }) do
    local f = io.open(d .. "/kamailio/modules/tm.so", "rb")
    if f then f:close(); return d .. "/kamailio/modules" end
  end
  return "/usr/lib/x86_64-linux-gnu/kamailio/modules"
end

-- sip.prog(name) -> path | nil: natlab.bin, and /usr/sbin (kamailio's
-- place, not in every user's PATH)
function sip.prog(name)
  local p = natlab.bin(name)
  if p then return p end
  local f = io.open("/usr/sbin/" .. name, "rb")
  if f then f:close(); return "/usr/sbin/" .. name end
  return nil
end

-- sip.need({"kamailio", "rtpengine", "baresip"}): skip the cell, naming the
-- Debian package, when a program is missing.
local PKG = { kamailio = "kamailio", rtpengine = "rtpengine-daemon", baresip = "baresip", linphonec = "linphone-cli",
              openssl = "openssl" }
function sip.need(progs)
  for _, p in ipairs(progs) do
    if not sip.prog(p) then
      natlab.skip(p .. " is not installed (apt-get install " .. PKG[p] ..
                  ", or scripts/install-deps --sip)")
    end
  end
end

-- sip.need_kamailio_module(name, package): skip the cell, naming the
-- Debian package, when kamailio's module @name is not installed.
function sip.need_kamailio_module(name, package)
  local f = io.open(kamailio_modules() .. "/" .. name .. ".so", "rb")
  if f then f:close(); return end
  natlab.skip("kamailio's " .. name .. " module is not installed (apt-get install " .. package ..
              ", or scripts/install-deps --sip)")
end

-- The cell's log directory, whole (the programs started here change their
-- working directory), or nil without logs (natlab exec/shell).
local function cell_dir()
  local d = natlab.cell_dir()
  if d and d:sub(1, 1) ~= "/" and os.getenv("PWD") then d = os.getenv("PWD") .. "/" .. d end
  return d
end

-- sip.dir(): the cell's directory for generated files (made once per cell):
-- the cell's log directory under natlab run, a fresh temporary one else.
function sip.dir()
  if sip._dir then return sip._dir end
  local d = cell_dir()
  if not d then
    d = os.tmpname()
    os.remove(d)
  end
  d = d .. "/sip"
  os.execute("mkdir -p '" .. d .. "'")
  sip._dir = d
  return d
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Wait until @pred() is true or @ms pass; returns the last pred() value.
function sip.wait_for(ms, pred, step_ms)
  local deadline = natlab.now_ms() + ms
  while true do
    local v = pred()
    if v or natlab.now_ms() >= deadline then return v end
    natlab.sleep_ms(step_ms or 50)
  end
end

-- ---- kamailio --------------------------------------------------------

-- The routing script. help: "none" (a plain registrar and proxy: contacts
-- stored and used as the UAs wrote them), "nat" (nathelper: the source
-- address of a NATed REGISTER is stored, Contact headers of requests and
-- replies rewritten to where they came from - signalling crosses the NATs,
-- media is left alone), "sbc" ("nat" and rtpengine: every SDP rewritten to
-- the relay, which latches onto the address the media really comes from).
-- natping_s > 0: nathelper pings every registered NATed contact (the
-- keep-alive that holds the UA's mapping open). flow_timer_s > 0: SIP
-- outbound (RFC 5626) on the registrar side, the UA's keep-alives
-- answered: see sip.OUTBOUND.
local function kamailio_cfg(o)
  local nat = o.help == "nat" or o.help == "sbc"
  local rtp = o.help == "sbc"
  -- every SDP, offer or answer, rewritten to the relay
  local manage = 'rtpengine_manage("replace-origin replace-session-connection ICE=remove");'
  local L = {}
  local function w(s) L[#L + 1] = s end
  w("#!KAMAILIO")
  w("# generated by natlab (scenarios/prelude/50_sip.lua) for one cell; help=" .. o.help)
  w("debug=2")
  w("log_stderror=yes")
  w("memdbg=5")
  w("memlog=5")
  w("children=2")
  w("tcp_children=2")
  w("auto_aliases=no")
  w("listen=udp:" .. o.addr .. ":" .. sip.PORT)
  w("listen=tcp:" .. o.addr .. ":" .. sip.PORT)
  if o.tls then
    w("enable_tls=yes")
    w("listen=tls:" .. o.addr .. ":" .. sip.TLS_PORT)
  end
  w("alias=" .. o.addr)
  w("tcp_connection_lifetime=3605")
  w('mpath="' .. kamailio_modules() .. '/"')
  for _, m in ipairs({ "tm", "sl", "rr", "pv", "maxfwd", "usrloc", "registrar", "textops",
                       "siputils", "xlog", "sanity", "kex" }) do
    w('loadmodule "' .. m .. '.so"')
  end
  if nat then w('loadmodule "nathelper.so"') end
  -- RFC 5626 §4.4.2: "the UA ... sends STUN Binding Requests" on its flow
  -- over UDP; §5.4 (edge proxy): it "MUST ... support the STUN server
  -- function on its SIP UDP ports". kamailio's stun module answers them
  -- on 5060. (The CRLF keep-alive of §4.4.1 on TCP is kamailio core's.)
  if (o.flow_timer_s or 0) > 0 then w('loadmodule "stun.so"') end
  if rtp then w('loadmodule "rtpengine.so"') end
  if o.tls then
    w('loadmodule "tls.so"')
    w('modparam("tls", "config", "' .. o.tls.cfg .. '")')
    -- every SIP message as kamailio read or wrote it, in clear: the wire
    -- shows only TLS records (sip.sipdump reads it back)
    w('loadmodule "sipdump.so"')
    w('modparam("sipdump", "enable", 1)')
    w('modparam("sipdump", "mode", 1)')
    w('modparam("sipdump", "wait", 2000)')
    w('modparam("sipdump", "folder", "' .. o.tls.dump_dir .. '")')
    w('modparam("sipdump", "fprefix", "sipdump-")')
  end
  w('modparam("usrloc", "db_mode", 0)')
  w('modparam("rr", "append_fromtag", 0)')
  if nat then
    w('modparam("registrar", "received_avp", "$avp(RECEIVED)")')
    w('modparam("nathelper", "received_avp", "$avp(RECEIVED)")')
    w('modparam("usrloc", "nat_bflag", 6)')
    w('modparam("nathelper", "natping_interval", ' .. (o.natping_s or 0) .. ')')
    w('modparam("nathelper", "ping_nated_only", 1)')
    w('modparam("nathelper", "sipping_bflag", 7)')
    w('modparam("nathelper", "sipping_from", "sip:pinger@' .. o.addr .. '")')
  end
  if (o.flow_timer_s or 0) > 0 then
    -- outbound supported (a REGISTER with reg-id and +sip.instance gets
    -- "Require: outbound"), and RFC 5626 §4.4.1 "Flow-Timer: the server
    -- recommends ... the UA send keep-alives at least this often"
    w('modparam("registrar", "outbound_mode", 1)')
    w('modparam("registrar", "flow_timer", ' .. o.flow_timer_s .. ')')
  end
  if rtp then
    w('modparam("rtpengine", "rtpengine_sock", "udp:' .. o.rtpengine .. '")')
  end
  w("request_route {")
  w('  xlog("L_INFO", "natlab-sip: $rm from $si:$sp ($pr) ruri $ru\\n");')
  w('  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }')
  if nat then
    -- RFC 3581 rport for every request; nat_uac_test 19: a private address
    -- in Contact (1), the Via host is not the source (2), rport differs (16)
    w("  force_rport();")
    w("  if (nat_uac_test(\"19\")) {")
    w("    if (is_method(\"REGISTER\")) { fix_nated_register(); setbflag(6); setbflag(7); }")
    w("    else { fix_nated_contact(); }")
    w("    setflag(5);")
    w("  }")
  end
  w("  if (is_method(\"CANCEL\")) { if (t_check_trans()) { t_relay(); } exit; }")
  w("  if (has_totag()) {")
  w("    if (loose_route()) {")
  if rtp then
    w('      if (is_method("BYE")) { rtpengine_delete(); }')
    w('      else if (has_body("application/sdp")) { ' .. manage .. ' }')
  end
  w("      t_relay(); exit;")
  w("    }")
  w('    if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }')
  w('    sl_send_reply("404", "Not here"); exit;')
  w("  }")
  w("  t_check_trans();")
  w("  if (is_method(\"REGISTER\")) {")
  w('    if (!save("location")) { sl_reply_error(); }')
  w('    xlog("L_INFO", "natlab-sip: REGISTER $tU saved from $si:$sp ($pr)\\n");')
  w("    exit;")
  w("  }")
  w("  if (is_method(\"INVITE|SUBSCRIBE\")) { record_route(); }")
  w('  if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }')
  w('  xlog("L_INFO", "natlab-sip: $rm for $tU relayed to $du $ru\\n");')
  if rtp then
    w('  if (is_method("INVITE") && has_body("application/sdp")) { ' .. manage .. ' }')
  end
  w('  t_on_reply("REPLY");')
  w('  if (!t_relay()) { sl_reply_error(); }')
  w("  exit;")
  w("}")
  w("onreply_route[REPLY] {")
  w('  xlog("L_DBG", "natlab-sip: reply $rs $rr\\n");') -- a route must not be empty
  if nat then
    w("  if (nat_uac_test(\"1\")) { fix_nated_contact(); }")
  end
  if rtp then
    w('  if (has_body("application/sdp")) { ' .. manage .. ' }')
  end
  w("}")
  return table.concat(L, "\n") .. "\n"
end

-- sip.kamailio(net, node_name, {help=, natping_s=, flow_timer_s=, rtpengine="addr:port"}) -> proc
-- kamailio on the node's address, UDP and TCP 5060, in the foreground, its
-- log (stderr) in the cell's logs as kamailio-<node>.log. Ready once the
-- node has it on UDP and TCP 5060 (sip.listening).
function sip.kamailio(net, node_name, o)
  local bin = sip.prog("kamailio")
  local dir = sip.dir()
  local addr = net.addr[node_name]
  local tls
  if o.tls then
    local cert, key = sip.make_cert(net.nodes[node_name], addr)
    -- no client certificates: the UAs authenticate nothing here
    tls = { cfg = write(dir .. "/tls.cfg", table.concat({
      "[server:default]", "method = TLSv1.2+", "verify_certificate = no", "require_certificate = no",
      "private_key = " .. key, "certificate = " .. cert, "",
      "[client:default]", "method = TLSv1.2+", "verify_certificate = no", "require_certificate = no", "" },
      "\n")), dump_dir = dir .. "/sipdump", cert = cert }
    os.execute("mkdir -p '" .. tls.dump_dir .. "'")
    sip.tls_cert = cert
  end
  local cfg = write(dir .. "/kamailio.cfg", kamailio_cfg {
    addr = addr, help = o.help, natping_s = o.natping_s, flow_timer_s = o.flow_timer_s, rtpengine = o.rtpengine,
    tls = tls })
  os.execute("mkdir -p '" .. dir .. "/kamailio-run'")
  local name = "kamailio-" .. node_name
  local p = net.nodes[node_name]:spawn({ bin, "-DD", "-E", "-f", cfg, "-Y", dir .. "/kamailio-run",
                                         "-P", dir .. "/kamailio.pid", "-m", "32", "-M", "4",
                                         "-w", dir }, { name = name, stdio = "null" })
  local node = net.nodes[node_name]
  local ok = sip.wait_for(5000, function()
    if p:wait(0) then return "exited" end
    local u, t = sip.listening(node, sip.PORT)
    return u and t
  end, 150)
  if ok == "exited" or p:wait(0) then error("kamailio exited at start (see " .. name .. ".log)", 0) end
  if not ok then error("kamailio is not listening on " .. addr .. ":" .. sip.PORT .. " after 5 s (see " ..
                       name .. ".log)", 0) end
  net.sip_procs = net.sip_procs or {}
  table.insert(net.sip_procs, p)
  return p
end

-- sip.make_cert(node, addr) -> cert, key: a self-signed P-256 certificate
-- for the registrar, made for this cell in sip.dir() (subjectAltName its
-- address: the UAs reach it by address), valid for a day.
function sip.make_cert(node, addr)
  local openssl = natlab.bin("openssl")
  if not openssl then natlab.skip("SIP over TLS needs openssl (apt-get install openssl, or scripts/install-deps --sip)") end
  local cert, key = sip.dir() .. "/sip-cert.pem", sip.dir() .. "/sip-key.pem"
  local p = node:spawn({ openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                         "-nodes", "-days", "1", "-subj", "/CN=" .. addr, "-addext", "subjectAltName=IP:" .. addr,
                         "-keyout", key, "-out", cert }, { name = "openssl-sip", stdio = "null" })
  local st = p:wait(10000)
  if st ~= 0 then
    if not st then p:kill() end
    error("sip: openssl could not make the registrar's certificate (status " .. tostring(st) ..
          ", see openssl-sip.log)", 0)
  end
  return cert, key
end

-- sip.listening(node, port) -> udp, tcp: whether a socket of the node is
-- bound to UDP @port and one listens on TCP @port, from the node's own
-- /proc/net/udp and /proc/net/tcp (read by one cat started inside the
-- node: those files show the reader's network namespace).
function sip.listening(node, port)
  local c = node:spawn({ "/bin/cat", "/proc/net/udp", "/proc/net/tcp" }, { name = "sip-probe", stdio = "pipe" })
  local want = string.format(":%04X", port)
  local file, found = 0, { false, false }
  while true do
    local l = c:line(1000)
    if not l then break end
    if l:match("^%s*sl%s") then
      file = file + 1 -- each file starts with its header: udp, then tcp
    else
      -- "sl: local_address rem_address st ...": TCP state 0A is LISTEN
      local loc, st = l:match("^%s*%d+: %x+(:%x+) %x+:%x+ (%x+)")
      if loc == want and (file == 1 or st == "0A") and file >= 1 then found[file] = true end
    end
  end
  c:wait(1000)
  return found[1], found[2]
end

-- sip.logpath(name): where node:spawn put @name's stderr (nil without logs)
function sip.logpath(name)
  local d = cell_dir()
  return d and (d .. "/" .. name .. ".log")
end

-- ---- rtpengine -------------------------------------------------------

-- sip.rtpengine(net, node_name) -> proc: userspace forwarding only
-- (--table=-1: no kernel module), media ports sip.RELAY_RTP on the node's
-- address, the ng control protocol on UDP sip.NG_PORT. Latching (its
-- default, "symmetric RTP"): it sends each side's media to the address the
-- other side's packets come from, not to the one in the SDP.
function sip.rtpengine(net, node_name)
  local addr = net.addr[node_name]
  local name = "rtpengine-" .. node_name
  local p = net.nodes[node_name]:spawn({ sip.prog("rtpengine"), "--config-file=none",
    "--table=-1", "--foreground", "--log-stderr", "--no-log-timestamps", "-L", "6",
    "--interface=" .. addr, "--listen-ng=" .. addr .. ":" .. sip.NG_PORT,
    "--port-min=" .. sip.RELAY_RTP[1], "--port-max=" .. sip.RELAY_RTP[2],
    "--pidfile=" .. sip.dir() .. "/rtpengine.pid", "--timeout=60" }, { name = name, stdio = "null" })
  local log = sip.logpath(name)
  local ok = sip.wait_for(5000, function()
    if p:wait(0) then return "exited" end
    local s = log and read_all(log) or ""
    return s:find("Startup complete", 1, true) or s:find("listening", 1, true)
  end)
  if ok == "exited" then error("rtpengine exited at start (see " .. name .. ".log)", 0) end
  net.sip_procs = net.sip_procs or {}
  table.insert(net.sip_procs, p)
  return p, addr .. ":" .. sip.NG_PORT
end

-- ---- baresip ---------------------------------------------------------

-- sip.ua(net, node_name, {user=, registrar=, transport="udp"|"tcp", dial=uri,
--   ice={server="turn:addr:port", user=, pass=}, outbound=bool}) -> proc
-- baresip with its own config directory: SIP on the node's address port
-- 5060, PCMU from a 440 Hz sine (no sound card: module ausine; received
-- audio goes to aubridge, a sink), RTP ports sip.UA_RTP, auto-answer, the
-- account registering with the registrar over @transport. @dial: a URI
-- called at start (menu's /dial). @ice: ICE (RFC 8445, module ice) with
-- host, server-reflexive and relayed candidates from that TURN server.
function sip.ua(net, node_name, o)
  local dir = sip.dir() .. "/ua-" .. node_name
  os.execute("mkdir -p '" .. dir .. "'")
  local addr = net.addr[node_name]
  local mods = { "g711", "ausine", "aubridge", "account", "menu" }
  local acc = string.format("<sip:%s@%s;transport=%s>;regint=3600;answermode=auto;audio_codecs=PCMU",
                            o.user, o.registrar, o.transport or "udp")
  local conf_extra = {}
  if o.transport == "tls" and sip.tls_cert then
    -- the registrar's certificate is the UA's trust anchor (self-signed)
    conf_extra[#conf_extra + 1] = "sip_cafile " .. sip.tls_cert
  end
  if o.outbound then
    -- RFC 5626 outbound: Contact gets +sip.instance (a UUID: module uuid
    -- keeps one in the config directory) and reg-id=1; once the 200 says
    -- "Require: outbound", libre keeps the flow alive (STUN Binding on
    -- UDP, CRLFCRLF on TCP) at 80-100 % of the Flow-Timer
    mods[#mods + 1] = "uuid"
    -- baresip registers an outbound account once per outbound proxy
    -- (none listed: no REGISTER at all): the registrar is the edge proxy
    acc = acc .. string.format(';sipnat=outbound;outbound="sip:%s;transport=%s"', o.registrar,
                               o.transport or "udp")
  end
  if o.ice then
    mods[#mods + 1] = "ice"
    mods[#mods + 1] = "stun"
    mods[#mods + 1] = "turn"
    acc = acc .. ";medianat=ice;stunserver=" .. o.ice.server
    if o.ice.user then acc = acc .. ";stunuser=" .. o.ice.user .. ";stunpass=" .. o.ice.pass end
  end
  local conf = {
    "# generated by natlab (scenarios/prelude/50_sip.lua)",
    "poll_method epoll",
    "sip_listen " .. addr .. ":" .. sip.PORT,
    "audio_player aubridge,natlab",
    "audio_source ausine,440",
    "audio_alert aubridge,natlab",
    "ausrc_srate 48000", -- ausine makes 48 kHz only; baresip resamples
    "ausrc_channels 2", -- ... and stereo only
    "auplay_srate 48000",
    string.format("rtp_ports %d-%d", sip.UA_RTP[1], sip.UA_RTP[2]),
    "rtp_timeout 0",
    "net_interface " .. (net.iface[node_name] or "eth0"),
    "module_path " .. sip.BARESIP_MODULES,
  }
  for _, l in ipairs(conf_extra) do conf[#conf + 1] = l end
  for _, m in ipairs(mods) do
    conf[#conf + 1] = (m == "account" or m == "menu") and ("module_app " .. m .. ".so")
                      or ("module " .. m .. ".so")
  end
  write(dir .. "/config", table.concat(conf, "\n") .. "\n")
  write(dir .. "/accounts", acc .. "\n")
  write(dir .. "/contacts", "")
  -- baresip writes its log on stdout: sh sends it to stderr, the cell's log
  local argv = { "/bin/sh", "-c", 'exec "$0" "$@" 1>&2', sip.prog("baresip"), "-4", "-f", dir, "-s" }
  if o.dial then argv[#argv + 1] = "-e"; argv[#argv + 1] = "/dial " .. o.dial end
  local p = net.nodes[node_name]:spawn(argv, { name = "baresip-" .. node_name, stdio = "null" })
  net.sip_procs = net.sip_procs or {}
  table.insert(net.sip_procs, p)
  return p
end

-- sip.wav_tone(path, hz, seconds): a 16-bit 8 kHz mono WAV file of a sine
-- (RIFF: "fmt " chunk PCM, then "data"), the audio linphonec plays.
function sip.wav_tone(path, hz, seconds)
  local rate, n = 8000, 8000 * seconds
  local samples = {}
  for i = 0, n - 1 do
    samples[#samples + 1] = string.pack("<i2", math.floor(8000 * math.sin(2 * math.pi * hz * i / rate)))
  end
  local data = table.concat(samples)
  write(path, "RIFF" .. string.pack("<I4", 36 + #data) .. "WAVEfmt " ..
        string.pack("<I4I2I2I4I4I2I2", 16, 1, 1, rate, rate * 2, 2, 16) .. "data" ..
        string.pack("<I4", #data) .. data)
  return path
end

-- sip.linphone(net, node_name, {user=, registrar=, transport=, dial=uri, keepalive_ms=}) -> proc
-- linphonec (liblinphone 5.1, package linphone-cli), the second UA: its
-- own linphonerc in the cell's sip/ua-<node>/ (SIP on the node's 5060,
-- RTP ports sip.UA_RTP, PCMU first, proxy_0 registering with the
-- registrar every 3600 s, auto-answer with -a), no sound card: its
-- console commands "soundcard use files" and "play" make it send a
-- 440 Hz tone from a WAV file. @dial: "call" once started. @keepalive_ms:
-- liblinphone's keep-alive, a CRLFCRLF to the proxy that often (UDP too). Its console
-- (stdout) and liblinphone's log (-d 4) go to linphone-<node>.log and
-- sip/ua-<node>/linphone.log.
function sip.linphone(net, node_name, o)
  local dir = sip.dir() .. "/ua-" .. node_name
  os.execute("mkdir -p '" .. dir .. "/.local/share/linphone'")
  local tp = o.transport or "udp"
  local rc = {
    "# generated by natlab (scenarios/prelude/50_sip.lua)",
    "[sip]", "use_ipv6=0",
    "sip_port=" .. (tp == "udp" and sip.PORT or 0),
    "sip_tcp_port=" .. (tp == "tcp" and sip.PORT or 0),
    "sip_tls_port=" .. (tp == "tls" and sip.TLS_PORT or 0),
    "default_proxy=0", "register_only_when_network_is_up=0", "register_only_when_upnp_is_ok=0",
    "verify_server_certs=0", "verify_server_cn=0", "inc_timeout=30",
    -- the UA's own keep-alive: a CRLFCRLF to the proxy every period (0: none)
    "keepalive_period=" .. (o.keepalive_ms or 0),
    "[rtp]", string.format("audio_rtp_port=%d-%d", sip.UA_RTP[1], sip.UA_RTP[2]), "nortp_timeout=30",
    "[net]", "firewall_policy=0",
    "[proxy_0]",
    string.format("reg_proxy=<sip:%s;transport=%s>", o.registrar, tp),
    string.format("reg_identity=sip:%s@%s", o.user, o.registrar),
    "reg_expires=3600", "reg_sendregister=1", "publish=0", "dial_escape_plus=0",
    "[audio_codec_0]", "mime=PCMU", "rate=8000", "channels=1", "enabled=1",
  }
  write(dir .. "/linphonerc", table.concat(rc, "\n") .. "\n")
  local wav = dir .. "/tone.wav"
  if not io.open(wav, "rb") then sip.wav_tone(wav, 440, 20) end
  -- HOME: liblinphone keeps its database under ~/.local/share; the
  -- console goes to stderr (the cell's log); stdin stays a pipe for the
  -- commands below
  local argv = { "/bin/sh", "-c", 'HOME="$1"; shift; exec "$@" 1>&2', "sh", dir, sip.prog("linphonec"),
                 "-c", dir .. "/linphonerc", "-a", "-d", "4", "-l", dir .. "/linphone.log" }
  local p = net.nodes[node_name]:spawn(argv, { name = "linphone-" .. node_name, stdio = "pipe" })
  p:send("soundcard use files")
  p:send("play " .. wav)
  if o.dial then p:send("call " .. o.dial .. ";transport=" .. tp) end
  net.sip_procs = net.sip_procs or {}
  table.insert(net.sip_procs, p)
  return p
end

-- sip.stop(net): stop every SIP process of the cell (the harness kills
-- whatever is left at the end of the cell anyway).
function sip.stop(net)
  for _, p in ipairs(net.sip_procs or {}) do
    if not p:wait(0) then p:kill() end
  end
  net.sip_procs = {}
end

-- ---- the wire: pcap reading ------------------------------------------

-- Parse the whole pcap records of @s from byte @pos on into @out (the
-- lab's node captures, emu/capture.c: big-endian pcap, LINKTYPE_LINUX_SLL2,
-- one record per packet as seen). Each packet: {t (s, float), ifindex, out
-- (PACKET_OUTGOING: the node sent it), proto "udp"|"tcp", src, sport, dst,
-- dport, payload}; IPv4 UDP and TCP only. Returns where the first record
-- not yet whole starts (#s + 1 when none is left).
local function pcap_parse(s, pos, out)
  while pos + 16 <= #s do
    local sec, usec, caplen = string.unpack(">I4I4I4", s, pos)
    local rec = pos + 16
    if rec + caplen - 1 > #s then break end
    pos = rec + caplen
    -- SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
    local eproto, _, ifindex, _, pkttype = string.unpack(">I2I2I4I2B", s, rec)
    local ip = rec + 20
    if eproto == 0x0800 and caplen >= 40 then
      local vihl = s:byte(ip)
      local ihl = (vihl & 0x0f) * 4
      local tot = string.unpack(">I2", s, ip + 2)
      local proto = s:byte(ip + 9)
      local src = string.format("%d.%d.%d.%d", s:byte(ip + 12, ip + 15))
      local dst = string.format("%d.%d.%d.%d", s:byte(ip + 16, ip + 19))
      local l4 = ip + ihl
      local last = math.min(ip + tot - 1, rec + caplen - 1)
      if proto == 17 and l4 + 8 <= last + 1 then
        local sp, dp = string.unpack(">I2I2", s, l4)
        out[#out + 1] = { t = sec + usec / 1e6, ifindex = ifindex, out = pkttype == 4, proto = "udp",
                          src = src, sport = sp, dst = dst, dport = dp,
                          payload = s:sub(l4 + 8, last) }
      elseif proto == 6 and l4 + 20 <= last + 1 then
        local sp, dp = string.unpack(">I2I2", s, l4)
        local doff = (s:byte(l4 + 12) >> 4) * 4
        out[#out + 1] = { t = sec + usec / 1e6, ifindex = ifindex, out = pkttype == 4, proto = "tcp",
                          src = src, sport = sp, dst = dst, dport = dp,
                          payload = s:sub(l4 + doff, last) }
      end
    end
  end
  return pos
end

local Capture = {}
Capture.__index = Capture

-- What was appended to @r.path since @r.off (nil when nothing, or no file
-- yet), @r.off moved past it: the tail both readers below parse.
local function read_appended(r)
  local f = io.open(r.path, "rb")
  if not f then return nil end
  f:seek("set", r.off)
  local new = f:read("a") or ""
  f:close()
  if #new == 0 then return nil end
  r.off = r.off + #new
  return new
end

-- sip.capture(path) -> reader of a capture the lab is still writing, a
-- piece at a time: reader:read() -> packets, new_bytes parses only what
-- was appended since its last call (a record the writer has not finished
-- waits for the next call) and returns every packet read so far
-- (reader.packets, the same list each time) and how many bytes the file
-- grew by. A scenario polling a capture while the call runs reads each
-- byte once.
function sip.capture(path)
  return setmetatable({ path = path, off = 0, rest = "", packets = {} }, Capture)
end

function Capture:read()
  local new = read_appended(self)
  if not new then return self.packets, 0 end
  local s = self.rest .. new
  local pos = 1
  if not self.header then
    -- the file header (24 bytes): the format is the lab's own, not checked
    if #s < 24 then
      self.rest = s
      return self.packets, #new
    end
    self.header = true
    pos = 25
  end
  self.rest = s:sub(pcap_parse(s, pos, self.packets))
  return self.packets, #new
end

-- ---- kamailio's own record of SIP over TLS ----------------------------

-- Parse kamailio sipdump's text records (mode 1) of @s from byte @pos on
-- into @out, as packets of the registrar's node: {t, out (tag "snd"),
-- proto ("udp", "tcp", "tls"), src, sport, dst, dport, payload = the SIP
-- message in clear}. A record looks like
--   ====================\n tag: rcv\n ... time: 1796593573.248971\n
--   proto: tls ipv4\n srcip: ...\n srcport: ...\n dstip: ...\n dstport: ...\n
--   ~~~~~~~~~~~~~~~~~~~~\n <message> ||||||||||||||||||||\n
-- Returns where the first record not yet whole starts.
local DUMP_HEAD, DUMP_BODY, DUMP_END = "====================\n", "~~~~~~~~~~~~~~~~~~~~\n", "||||||||||||||||||||\n"
local function sipdump_parse(s, pos, out)
  while true do
    local a = s:find(DUMP_HEAD, pos, true)
    if not a then return #s + 1 end
    local b = s:find(DUMP_BODY, a, true)
    local e = b and s:find(DUMP_END, b, true)
    if not e then return a end
    local head = s:sub(a + #DUMP_HEAD, b - 1)
    local f = {}
    for k, v in head:gmatch("([%w_]+): ([^\n]*)") do f[k] = v end
    out[#out + 1] = { t = tonumber(f.time) or 0, ifindex = 0, out = f.tag == "snd",
                      proto = (f.proto or ""):match("^(%a+)"), src = f.srcip, sport = tonumber(f.srcport),
                      dst = f.dstip, dport = tonumber(f.dstport), payload = s:sub(b + #DUMP_BODY, e - 1),
                      dump = true }
    pos = e + #DUMP_END
  end
end

local Dump = {}
Dump.__index = Dump

-- sip.sipdump(node, dir) -> reader of the sipdump file kamailio writes in
-- @dir (its name carries kamailio's start time: found by listing @dir
-- from inside @node; or @dir is the .data file itself), read like sip.capture: reader:read() -> packets,
-- new_bytes, a piece at a time. With SIP over TLS this is what the
-- signalling said; the captures show when and where TLS records went.
function sip.sipdump(node, dir)
  -- a path ending in .data is the file itself (no listing, no node)
  local path = dir:match("%.data$") and dir or nil
  return setmetatable({ node = node, dir = dir, path = path, off = 0, rest = "", packets = {} }, Dump)
end

function Dump:read()
  if not self.path then
    local c = self.node:spawn({ "/bin/ls", self.dir }, { name = "sip-probe", stdio = "pipe" })
    while true do
      local l = c:line(1000)
      if not l then break end
      if l:match("%.data$") then self.path = self.dir .. "/" .. l end
    end
    c:wait(1000)
    if not self.path then return self.packets, 0 end
  end
  local new = read_appended(self)
  if not new then return self.packets, 0 end
  local s = self.rest .. new
  self.rest = s:sub(sipdump_parse(s, 1, self.packets))
  return self.packets, #new
end

-- sip.as_seen_at(pk, addrs) -> packets: the SIP messages of a registrar's
-- packets @pk between it and one side (@addrs, a set of addresses), turned
-- into what that side sent (out) and got (in). For SIP over TLS, where
-- the UA's own captures show only ciphertext: the registrar's clear view
-- stands in for the UA's (nothing between them can change a message).
function sip.as_seen_at(pk, addrs)
  local r = {}
  for _, k in ipairs(pk or {}) do
    if k.dump and ((k.out and addrs[k.dst]) or (not k.out and addrs[k.src])) then
      r[#r + 1] = { t = k.t, ifindex = 0, out = not k.out, proto = k.proto, src = k.src, sport = k.sport,
                    dst = k.dst, dport = k.dport, payload = k.payload, dump = true }
    end
  end
  return r
end

-- sip.pcap(path) -> list of packets: the whole capture as it is now
-- (sip.capture's packets); a record cut by the writer is left out.
function sip.pcap(path)
  return (sip.capture(path):read())
end

-- sip.is_rtp(pkt): an RTP packet (RFC 3550 §5.1: version 2; RTCP's
-- payload types 200-204 excluded) on a UDP port that is not SIP, STUN/TURN
-- or rtpengine's control, or one inside a TURN ChannelData message.
function sip.is_rtp(k)
  if k.proto ~= "udp" or #k.payload < 12 then return false end
  local off = 1
  local b0 = k.payload:byte(1)
  if b0 >= 0x40 and b0 <= 0x4f then
    -- RFC 8656 §12.4 ChannelData (channel numbers 0x4000-0x4FFF): RTP
    -- relayed through TURN, counted inside its 4-byte header
    off = 5
    if #k.payload < 16 then return false end
  else
    for _, port in ipairs({ sip.PORT, 3478, sip.NG_PORT }) do
      if k.sport == port or k.dport == port then return false end
    end
  end
  local b1
  b0, b1 = k.payload:byte(off, off + 1)
  if (b0 & 0xc0) ~= 0x80 then return false end
  local pt = b1 & 0x7f
  return not (pt >= 72 and pt <= 76)
end

-- sip.rtp_received(packets) -> n: RTP packets a node received.
function sip.rtp_received(pk)
  local n = 0
  for _, k in ipairs(pk or {}) do
    if not k.out and sip.is_rtp(k) then n = n + 1 end
  end
  return n
end

-- sip.message(pkt) -> {request=METHOD | nil, status=code | nil, cseq_method,
-- to_user, from_user, sdp={addr, port} | nil} or nil: the first SIP message
-- in a packet's payload (a TCP segment of the lab holds whole messages).
function sip.message(k)
  local p = k.payload
  if #p < 12 then return nil end
  local first = p:match("^([^\r\n]*)\r?\n")
  if not first then return nil end
  local m = {}
  local code = first:match("^SIP/2%.0 (%d%d%d)")
  if code then
    m.status = tonumber(code)
  else
    m.request = first:match("^(%u+) [^ ]+ SIP/2%.0$")
    if not m.request then return nil end
    m.ruri = first:match("^%u+ ([^ ]+) ")
  end
  local head, body = p:match("^(.-)\r?\n\r?\n(.*)$")
  head = head or p
  m.cseq_method = head:match("\n[Cc][Ss][Ee][Qq]:%s*%d+%s+(%u+)")
  m.to_user = head:match("\n[Tt][Oo]:[^\n]-sips?:([^@>;\r\n]+)@") or head:match("\nt:[^\n]-sips?:([^@>;\r\n]+)@")
  m.from_user = head:match("\n[Ff][Rr][Oo][Mm]:[^\n]-sips?:([^@>;\r\n]+)@") or head:match("\nf:[^\n]-sips?:([^@>;\r\n]+)@")
  m.contact = head:match("\n[Cc][Oo][Nn][Tt][Aa][Cc][Tt]:[^\n]-<?sips?:[^@>]*@?([%d%.]+:?%d*)")
  if body and body:find("m=audio", 1, true) then
    local c = body:match("^c=IN IP4 ([%d%.]+)")
    local mp = body:match("\nm=audio (%d+)")
    -- a media-level c= overrides the session's (RFC 4566 §5.7): take the last
    for cc in body:gmatch("\nc=IN IP4 ([%d%.]+)") do c = cc end
    m.sdp = { addr = c, port = tonumber(mp) }
    m.ice = body:find("a=candidate", 1, true) ~= nil
  end
  return m
end

-- RFC 1918 and RFC 6598 (CGN) addresses: never routed on the lab's internet.
function sip.is_private(a)
  return a and (a:match("^10%.") or a:match("^192%.168%.") or a:match("^172%.1[6-9]%.") or
                a:match("^172%.2%d%.") or a:match("^172%.3[01]%.") or a:match("^100%.6[4-9]%.") or
                a:match("^100%.[7-9]%d%.") or a:match("^100%.1[01]%d%.") or a:match("^100%.12[0-7]%.")) ~= nil
end


-- ---- the wire: a call's verdict --------------------------------------

-- sip.read_pcaps(pcaps) -> {node = packets}: every capture of the cell, read now.
function sip.read_pcaps(pcaps)
  local t = {}
  for node, path in pairs(pcaps) do t[node] = sip.pcap(path) end
  return t
end

-- sip.registered(pk, user) -> bool: the registrar's node sent a 200 to a
-- REGISTER for @user (what the registrar accepted: kamailio answers 200
-- only after save("location")).
function sip.registered(pk, user)
  return sip.first_message(pk, function(m, k)
    return k.out and m.status == 200 and m.cseq_method == "REGISTER" and m.to_user == user
  end) ~= nil
end

-- sip.first_message(pk, filter) -> message, packet: the first SIP message
-- at a node for which filter(m, k) is true.
function sip.first_message(pk, filter)
  for _, k in ipairs(pk or {}) do
    local m = sip.message(k)
    if m and filter(m, k) then return m, k end
  end
  return nil
end

local function ep(a, p) return a .. ":" .. tostring(p) end

-- sip.is_stun(k): a STUN message (RFC 5389 §6: the two top bits zero, the
-- magic cookie 0x2112A442 at byte 4) in a UDP payload.
function sip.is_stun(k)
  local p = k.payload
  return k.proto == "udp" and #p >= 20 and p:byte(1) < 4 and p:sub(5, 8) == "\x21\x12\xa4\x42"
end

-- sip.keepalives(pk, ua_addrs, t_max) -> {options=, stun=, crlf=, last=}:
-- the keep-alives on the registrar's node between it and one UA's side
-- (@ua_addrs: a set of the UA's, its NAT's and carrier NAT's addresses)
-- before time @t_max (nil: all): nathelper's OPTIONS the registrar sent,
-- RFC 5626 §4.4.2 STUN Binding requests and §4.4.1 CRLFCRLF pings it got;
-- last: when the last one of any kind was seen.
function sip.keepalives(pk, ua_addrs, t_max)
  local r = { options = 0, stun = 0, crlf = 0 }
  for _, k in ipairs(pk or {}) do
    if not t_max or k.t < t_max then
      local kind
      if k.out and ua_addrs[k.dst] then
        local m = sip.message(k)
        if m and m.request == "OPTIONS" then kind = "options" end
      elseif not k.out and ua_addrs[k.src] and k.dport == sip.PORT then
        if sip.is_stun(k) and k.payload:byte(2) == 1 then kind = "stun" -- class request, Binding
        elseif k.payload == "\r\n\r\n" then kind = "crlf" end -- RFC 5626 §4.4.1 on TCP; linphone sends it on UDP too
      end
      if kind then
        r[kind] = r[kind] + 1
        r.last = k.t
      end
    end
  end
  return r
end

-- The RTP a node sent (out) and received (in), with the endpoint it sent
-- most of its packets to.
local function rtp_at(pk)
  local r = { tx = 0, rx = 0, to = {} }
  for _, k in ipairs(pk or {}) do
    if sip.is_rtp(k) then
      if k.out then
        r.tx = r.tx + 1
        local d = ep(k.dst, k.dport)
        r.to[d] = (r.to[d] or 0) + 1
      else
        r.rx = r.rx + 1
      end
    end
  end
  local best, n = nil, 0
  for d, c in pairs(r.to) do
    if c > n then best, n = d, c end
  end
  r.main_to = best
  return r
end

-- Count RTP packets at a node for which pred(k) holds, received (in) and
-- sent (out), on the one interface that saw the most: a packet crossing a
-- LAN bridge is captured on the bridge port and on the bridge.
local function count(pk, pred)
  local ci, co = {}, {}
  for _, k in ipairs(pk or {}) do
    if sip.is_rtp(k) and pred(k) then
      local t = k.out and co or ci
      t[k.ifindex] = (t[k.ifindex] or 0) + 1
    end
  end
  local i, o = 0, 0
  for _, n in pairs(ci) do i = math.max(i, n) end
  for _, n in pairs(co) do o = math.max(o, n) end
  return i, o
end

-- sip.judge(pk, w) -> verdict. @pk: the packets per node (sip.read_pcaps);
-- @w: {a = "left", b = "right" (the UA nodes; a called b), addr = net.addr,
-- media = rtpengine's address or nil, turn = the TURN server's address or nil,
-- registrar = node name, evidence = {[nat node] = node:nat_evidence()} or
-- nil: the NATs' own account, quoted when the INVITE died at one, tls =
-- true: SIP went over TLS, pk[registrar] holds sip.sipdump's packets too
-- and stands in for the UAs' SIP (sip.as_seen_at)}. The verdict: {class, registered = {a=, b=},
-- answered, rtp = {["a->b"] = {sent, received, to, told, path, cause}, ...},
-- rewrites (Contact and SDP addresses that differ between what a UA sent
-- and what the registrar got: an ALG's work), path, message}. Classes: "no-reg" (the callee never registered),
-- "no-call" (no 200 to the INVITE reached the caller), "no-audio",
-- "one-way:a->b" / "one-way:b->a" (named with the node names), "two-way".
function sip.judge(pk, w)
  local v = { registered = {}, rtp = {} }
  local A, B = w.a, w.b
  local function side_addrs(x)
    local s = { [w.addr[x]] = true }
    if w.addr[x .. "-nat"] then s[w.addr[x .. "-nat"]] = true end
    if w.addr[x .. "-cgn"] then s[w.addr[x .. "-cgn"]] = true end
    return s
  end
  -- where each UA's SIP is read: its own capture, or with w.tls (the
  -- wire carries ciphertext) the registrar's clear record of what went
  -- between it and that UA's side
  local sig = pk
  if w.tls then
    -- only the side's public address: what kamailio wrote to a private
    -- one (a Contact it cannot reach) never got there
    local function public(x)
      local s = {}
      for a in pairs(side_addrs(x)) do if not sip.is_private(a) then s[a] = true end end
      return s
    end
    sig = { [A] = sip.as_seen_at(pk[w.registrar], public(A)), [B] = sip.as_seen_at(pk[w.registrar], public(B)) }
    v.signalling_from = "the registrar's sipdump (SIP over TLS)"
  end
  v.registered[A] = sip.registered(pk[w.registrar], A)
  v.registered[B] = sip.registered(pk[w.registrar], B)
  -- what each UA was told about the other's media (the SDP it received)
  local told = {}
  local inv = sip.first_message(sig[B], function(m, k) return not k.out and m.request == "INVITE" end)
  local ans = sip.first_message(sig[A], function(m, k)
    return not k.out and m.status == 200 and m.cseq_method == "INVITE" end)
  local sent_inv = sip.first_message(sig[A], function(m, k) return k.out and m.request == "INVITE" end)
  local sent_ans = sip.first_message(sig[B], function(m, k)
    return k.out and m.status == 200 and m.cseq_method == "INVITE" end)
  told[B] = inv and inv.sdp
  told[A] = ans and ans.sdp
  v.invite_reached_callee = inv ~= nil
  v.answered = ans ~= nil
  v.sdp = { [A .. "_offer"] = sent_inv and sent_inv.sdp, [B .. "_answer"] = sent_ans and sent_ans.sdp,
            [B .. "_got"] = told[B], [A .. "_got"] = told[A] }
  -- What changed between a UA's node and the registrar's (an ALG on the
  -- way rewrites Contact and SDP; nothing else in the lab touches them)
  v.rewrites = {}
  local function sent_and_got(ua, pred)
    local m1 = sip.first_message(sig[ua], function(m, k) return k.out and pred(m) end)
    local m2 = sip.first_message(pk[w.registrar], function(m, k)
      return not k.out and pred(m) end)
    return m1, m2
  end
  for _, x in ipairs({ A, B }) do
    local r1, r2 = sent_and_got(x, function(m) return m.request == "REGISTER" and m.to_user == x end)
    if r1 and r2 and r1.contact and r2.contact and r1.contact ~= r2.contact then
      v.rewrites[x .. " REGISTER Contact"] = r1.contact .. " -> " .. r2.contact
    end
  end
  local function sdp_rewrite(label, ua, pred)
    local m1, m2 = sent_and_got(ua, pred)
    local s1, s2 = m1 and m1.sdp, m2 and m2.sdp
    if s1 and s2 and (s1.addr ~= s2.addr or s1.port ~= s2.port) then
      v.rewrites[label] = ep(s1.addr, s1.port) .. " -> " .. ep(s2.addr, s2.port)
    end
  end
  sdp_rewrite(A .. " INVITE SDP", A, function(m) return m.request == "INVITE" and m.to_user == B end)
  sdp_rewrite(B .. " 200 SDP", B, function(m) return m.status == 200 and m.cseq_method == "INVITE" and m.sdp end)
  -- keep-alives between the registrar and each UA's side, up to the
  -- caller's INVITE (what kept the callee's mapping alive, or did not)
  local _, inv_at = sip.first_message(pk[w.registrar], function(m, k)
    return not k.out and m.request == "INVITE" end)
  v.keepalives = {}
  for _, x in ipairs({ A, B }) do
    v.keepalives[x] = sip.keepalives(pk[w.registrar], side_addrs(x), inv_at and inv_at.t)
  end
  local path = {}
  for _, d in ipairs({ { A, B }, { B, A } }) do
    local x, y = d[1], d[2]
    local key = x .. "->" .. y
    local rx_, ry_ = rtp_at(pk[x]), rtp_at(pk[y])
    local r = { sent = rx_.tx, received = ry_.rx, to = rx_.main_to,
                told = told[x] and told[x].addr and ep(told[x].addr, told[x].port) or nil }
    local to_addr = r.to and r.to:match("^([^:]+)")
    if to_addr and w.media and to_addr == w.media then
      r.path = "rtpengine"
    elseif to_addr and w.turn and to_addr == w.turn then
      r.path = "turn"
    elseif to_addr then
      r.path = "direct"
    end
    if r.path then path[#path + 1] = r.path end
    local X, Y = side_addrs(x), side_addrs(y)
    -- hop counts along the way, for the record and for the cause
    local hops = {}
    local xn, yn = x .. "-nat", y .. "-nat"
    if pk[xn] then
      local i = count(pk[xn], function(k) return not k.out and k.src == w.addr[x] end)
      local _, o = count(pk[xn], function(k) return k.out and X[k.src] and k.src ~= w.addr[x] end)
      hops[xn] = { from_inside = i, sent_out = o }
    end
    if pk.internet then
      local i, o = count(pk.internet, function(k) return X[k.src] or (w.media and k.src == w.media and Y[k.dst]) end)
      hops.internet = { arrived = i, forwarded = o }
    end
    if w.media and pk.media then
      local i = count(pk.media, function(k) return not k.out and X[k.src] end)
      local _, o = count(pk.media, function(k) return k.out and not X[k.dst] end)
      hops.media = { from_sender = i, to_receiver = o }
      local to = {}
      for _, k in ipairs(pk.media) do
        if k.out and sip.is_rtp(k) and not X[k.dst] then
          local d = ep(k.dst, k.dport)
          to[d] = (to[d] or 0) + 1
          if to[d] > (to[hops.media.to] or 0) then hops.media.to = d end
        end
      end
    end
    if pk[yn] then
      local i = count(pk[yn], function(k) return not k.out and k.src ~= w.addr[y] end)
      local _, o = count(pk[yn], function(k) return k.out and k.dst == w.addr[y] end)
      hops[yn] = { from_outside = i, to_inside = o }
    end
    -- a cgnat side's carrier NAT, in front of y's home NAT
    local yc = y .. "-cgn"
    if pk[yc] and w.addr[yn] then
      local i = count(pk[yc], function(k) return not k.out and k.src ~= w.addr[yn] and not Y[k.src] end)
      local _, o = count(pk[yc], function(k) return k.out and k.dst == w.addr[yn] end)
      hops[yc] = { from_outside = i, to_inside = o }
    end
    r.hops = hops
    -- the cause, when nothing (or almost nothing) arrived
    if r.received == 0 then
      local arrow = x .. "→" .. y
      if r.sent == 0 then
        r.cause = arrow .. ": " .. x .. " sent no RTP"
      elseif hops[xn] and hops[xn].from_inside > 0 and hops[xn].sent_out == 0 then
        r.cause = string.format("%s RTP to %s dropped by %s (%d from %s, none sent out)", arrow, r.to, xn,
                                hops[xn].from_inside, x)
      elseif sip.is_private(to_addr) then
        local it = hops.internet or { arrived = 0, forwarded = 0 }
        r.cause = string.format("%s RTP sent to %s, %s, dropped: no route (the internet core got %d, " ..
                                "forwarded %d)", arrow, r.to,
                                r.told == r.to and ("the private address in " .. y .. "'s SDP") or "a private address",
                                it.arrived, it.forwarded)
      elseif hops.media and hops.media.to_receiver == 0 then
        r.cause = string.format("%s RTP reached rtpengine (%d packets) but it forwarded none to %s", arrow,
                                hops.media.from_sender, y)
      elseif hops.media and sip.is_private(hops.media.to and hops.media.to:match("^([^:]+)")) then
        r.cause = string.format("%s RTP reached rtpengine (%d packets), which relayed it to %s, the private " ..
                                "address in %s's SDP (%s sent it nothing to latch onto), dropped: no route",
                                arrow, hops.media.from_sender, hops.media.to, y, y)
      elseif hops[y .. "-cgn"] and hops[y .. "-cgn"].from_outside > 0 and hops[y .. "-cgn"].to_inside == 0 then
        local yc = y .. "-cgn"
        r.cause = string.format("%s RTP arrived at %s (%d packets%s) and was dropped: no mapping lets it in " ..
                                "(filtering, or a firewall)", arrow, yc, hops[yc].from_outside,
                                r.path == "rtpengine" and ", from rtpengine" or (", sent to " .. r.to))
      elseif hops[yn] and hops[yn].from_outside > 0 and hops[yn].to_inside == 0 then
        r.cause = string.format("%s RTP arrived at %s (%d packets%s) and was dropped: no mapping lets it in " ..
                                "(filtering, or a firewall)", arrow, yn, hops[yn].from_outside,
                                r.path == "rtpengine" and ", from rtpengine" or (", sent to " .. r.to))
      else
        r.cause = string.format("%s RTP sent to %s (%d packets) never reached %s", arrow, tostring(r.to), r.sent, y)
      end
    end
    v.rtp[key] = r
  end
  local ab, ba = v.rtp[A .. "->" .. B], v.rtp[B .. "->" .. A]
  if not v.registered[B] then
    v.class = "no-reg"
    v.message = B .. " never registered (no 200 to its REGISTER left the registrar)"
  elseif not v.answered then
    v.class = "no-call"
    v.message = B .. " registered, but no 200 to " .. A .. "'s INVITE came back"
    if not v.invite_reached_callee then
      -- where the proxy sent the INVITE, and how far it got
      local _, k = sip.first_message(pk[w.registrar], function(m, k)
        return k.out and m.request == "INVITE" and m.to_user == B end)
      local syn, syn_pub
      local bside = side_addrs(B)
      local answered_from = {}
      for _, k2 in ipairs(pk[w.registrar] or {}) do
        if not k2.out and k2.proto == "tcp" then answered_from[ep(k2.src, k2.sport)] = true end
      end
      for _, k2 in ipairs(pk[w.registrar] or {}) do
        if k2.out and k2.proto == "tcp" and not k2.dump then
          if not syn and sip.is_private(k2.dst) then syn = k2 end
          -- a connection the proxy opened toward the callee's side (to
          -- the Contact's SIP port) that nothing ever answered
          if not syn_pub and bside[k2.dst] and #k2.payload == 0 and
             (k2.dport == sip.PORT or k2.dport == sip.TLS_PORT) and not answered_from[ep(k2.dst, k2.dport)] then
            syn_pub = k2
          end
        end
      end
      -- the NATs' own word: the first drop-log entry of @proto packets from
      -- the registrar's address at one of the callee's NATs
      local function drop_quote(src, proto)
        for _, n in ipairs({ B .. "-nat", B .. "-cgn" }) do
          local ev = w.evidence and w.evidence[n]
          for _, d in ipairs(ev and ev.drops or {}) do
            if d.proto == proto and d.src:sub(1, #src + 1) == src .. ":" then
              v.invite_drop = d
              return string.format("; %s's drop log: %s %s %s -> %s, %d packet%s from %.1f s", n, d.rule, d.proto,
                                   d.src, d.dst, d.pkts, d.pkts == 1 and "" or "s", d.first_ms / 1000)
            end
          end
        end
        return ""
      end
      -- over TLS kamailio's dump holds the INVITE it meant to send; the
      -- wire shows the connection it could not open
      if syn and (not k or k.dump) then
        v.message = v.message .. string.format(" (the proxy tried to connect over TCP to %s:%d, the private " ..
                                               "Contact %s registered: no route)", syn.dst, syn.dport, B)
      elseif syn_pub and (not k or k.dump) then
        v.message = v.message .. string.format(" (the proxy tried to connect over TCP to %s:%d, the Contact %s " ..
                                               "registered, and got no answer)", syn_pub.dst, syn_pub.dport, B) ..
                    drop_quote(syn_pub.src, "tcp")
      elseif not k then
        local got = sip.first_message(pk[w.registrar], function(m, k2) return not k2.out and m.request == "INVITE" end)
        v.message = v.message .. (got and " (the registrar did not relay the INVITE)" or
                                  (" (" .. A .. "'s INVITE never reached the registrar)"))
      elseif sip.is_private(k.dst) then
        v.message = v.message .. string.format(" (the proxy sent the INVITE to %s:%d over %s, the private Contact " ..
                                               "%s registered: no route)", k.dst, k.dport, k.proto, B)
      else
        local bn = pk[B .. "-nat"]
        local arrived = sip.first_message(bn, function(m, k2)
          return not k2.out and m.request == "INVITE" and k2.src == k.src end)
        v.message = v.message .. string.format(" (the proxy sent the INVITE to %s:%d over %s%s)", k.dst, k.dport,
          k.proto, arrived and (", it arrived at " .. B .. "-nat and was dropped there: no live mapping lets it in")
                   or "") .. drop_quote(k.src, k.proto)
      end
    end
  elseif ab.received > 0 and ba.received > 0 then
    v.class = "two-way"
  elseif ab.received > 0 then
    v.class = "one-way:" .. A .. "->" .. B
    v.message = ba.cause
  elseif ba.received > 0 then
    v.class = "one-way:" .. B .. "->" .. A
    v.message = ab.cause
  else
    v.class = "no-audio"
    v.message = ab.cause .. "; " .. ba.cause
  end
  table.sort(path)
  local uniq = {}
  for _, q in ipairs(path) do if uniq[#uniq] ~= q then uniq[#uniq + 1] = q end end
  v.path = table.concat(uniq, "+")
  return v
end
