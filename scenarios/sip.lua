-- sip.lua - SIP calls through NATs: two user agents (baresip), "left" and
-- "right", each behind a NAT preset, register with a registrar/proxy
-- (kamailio) on the internet; left calls right, right answers, both send
-- PCMU (a 440 Hz tone, 50 packets/s) for media_ms. docs/sip.md.
--
-- Swept: the presets, the NAT help (help=none: a plain registrar/proxy;
-- nat: kamailio's nathelper fixes NATed contacts and registrations, media
-- untouched; sbc: nat plus rtpengine rewriting every SDP to itself and
-- latching onto where the media really comes from; ice: nat for the
-- signalling, and baresip's ICE with host, server-reflexive and relayed
-- candidates from natlab-turn-server), the routers' SIP ALG
-- (alg: the sip_alg NAT knob, the kernel's SIP helper) and the transport of
-- the signalling (udp, tcp). nat_timeout_s/keepalive/hold_s test whether a
-- registration outlives a short NAT mapping lifetime.
--
-- Each cell's verdict is read from the wire (pcap captures of the UAs, their
-- NATs, the internet core, the registrar and the relay), never from the UAs:
-- registrations (200 to REGISTER leaving the registrar), the call (200 to the
-- INVITE reaching the caller), RTP packets per direction sent and received at
-- each UA and counted at every hop, the media path (direct or through
-- rtpengine), and for one-way or no audio the cause, named. The class is
-- compared with scenarios/sip_expected.lua: the cell passes when they are
-- equal (observations.class / expected_class, the message names both).
--
--   natlab run scenarios/sip.lua                                  # the full sweep
--   natlab run scenarios/sip.lua -p help=sbc -p alg=false -p transport=udp
--   natlab run scenarios/sip.lua -p left=symmetric -p right=symmetric -p help=none,nat,sbc
--   natlab run scenarios/sip.lua -p help=sbc -p nat_timeout_s=4 -p hold_s=7 -p keepalive=true,false
natlab.scen.use_dir()
local S = natlab.scen
local sip = natlab.sip

local function expected_table()
  local chunk, err = loadfile(S.dir .. "/sip_expected.lua") -- S.dir: scen.use_dir() above
  if not chunk then error("sip: cannot load sip_expected.lua: " .. tostring(err)) end
  return chunk()
end
local EXPECT = expected_table()

scenario {
  name = "sip",
  description = "two SIP UAs behind NATs register and call: audio per direction judged from the wire",
  params = {
    left = { description = "caller's NAT preset", default = "port-restricted-cone" },
    right = { description = "callee's NAT preset", default = "port-restricted-cone" },
    help = { description = "NAT help: none | nat (nathelper) | sbc (nathelper + rtpengine) | ice (nathelper + ICE/TURN in the UAs)", default = "sbc" },
    alg = { description = "SIP ALG (sip_alg knob) on both NATs", default = false },
    alg_cgn = { description = "where the ALG sits on a cgnat side: carrier | home | both", default = "carrier" },
    transport = { description = "SIP transport: udp | tcp | tls (SIP over TLS to 5061: no ALG can read it)",
                  default = "udp" },
    keepalive = { description = "keep-alives: none | registrar (nathelper's OPTIONS every 2 s; help nat/sbc/ice) | " ..
                                "ua (SIP outbound, RFC 5626: the UA's STUN/CRLF keep-alives, Flow-Timer 2 s); " ..
                                "true = registrar, false = none", default = "registrar" },
    nat_timeout_s = { description = "NAT UDP mapping timeout (0: the preset's, 120 s)", default = 0 },
    hold_s = { description = "seconds between the callee's registration and the call", default = 0 },
    media_ms = { description = "how long the call runs once answered", default = 2500 },
    ua = { description = "the user agents, both sides: baresip | linphone (linphonec, liblinphone 5.1)",
           default = "baresip" },
  },
  matrix = {
    left = { "open", "full-cone", "port-restricted-cone", "symmetric", "udp-blocked" },
    right = { "port-restricted-cone" },
    help = { "none", "nat", "sbc", "ice" },
    alg = { false, true },
    transport = { "udp", "tcp" },
  },
  grid = { name = "sip: audio (expected from scenarios/sip_expected.lua)", rows = "left", cols = "help",
           split = { "transport", "alg", "right" } },
  -- the grid's colours: each cell's call class (the report's names,
  -- EXPECT.report_class), a square marked where it is not the expected one
  expect = function(p) return EXPECT.report_class(EXPECT.expect(p)) end,
  timeout_ms = 60000,

  network = function(p)
    S.need_lab()
    local help = { none = true, nat = true, sbc = true, ice = true }
    if not help[p.help] then
      error("sip: help must be none, nat, sbc or ice, not '" .. tostring(p.help) .. "'", 0)
    end
    if p.transport ~= "udp" and p.transport ~= "tcp" and p.transport ~= "tls" then
      error("sip: transport must be udp, tcp or tls, not '" .. tostring(p.transport) .. "'", 0)
    end
    EXPECT.keepalive(p) -- raises on a value it does not know
    if p.ua ~= "baresip" and p.ua ~= "linphone" then
      error("sip: ua must be baresip or linphone, not '" .. tostring(p.ua) .. "'", 0)
    end
    sip.need({ "kamailio", p.ua == "linphone" and "linphonec" or "baresip" })
    if p.ua == "linphone" and p.help == "ice" then
      -- not wired: linphonec's ICE needs a NAT policy naming the TURN server
      natlab.skip("sip: ua=linphone runs without ICE here (help=ice is baresip's)")
    end
    if p.help == "sbc" then sip.need({ "rtpengine" }) end
    if p.transport == "tls" then
      sip.need_kamailio_module("tls", "kamailio-tls-modules")
      sip.need({ "openssl" })
    end
    local net = natlab.net()
    net:internet()
    local knobs = { sip_alg = p.alg }
    if p.nat_timeout_s > 0 then knobs.udp_timeout_s = p.nat_timeout_s end
    if p.alg_cgn ~= "carrier" and p.alg_cgn ~= "home" and p.alg_cgn ~= "both" then
      error("sip: alg_cgn must be carrier, home or both, not '" .. tostring(p.alg_cgn) .. "'", 0)
    end
    -- a cgnat side is a home NAT behind a carrier NAT (scen.side gives the
    -- knobs to the carrier); alg_cgn says which of the two runs the ALG
    local function side(name, preset)
      if preset ~= "cgnat" or not p.alg or p.alg_cgn == "carrier" then return S.side(net, name, preset, knobs) end
      local ck = { preset = "cgnat" }
      for k, v in pairs(knobs) do ck[k] = v end
      ck.sip_alg = p.alg_cgn == "both"
      local carrier = net:nat(name .. "-cgn", ck)
      net:host(name, net:nat(name .. "-nat", { preset = S.CGNAT_HOME, sip_alg = true }, carrier))
    end
    side("left", p.left)
    side("right", p.right)
    net:public_host("sip")
    if p.help == "sbc" then net:public_host("media") end
    -- ice: natlab-turn-server (UDP+TCP 3478, TCP 80) answers STUN too
    if p.help == "ice" then net.srv = S.servers(net, { servers = "natlab" }, { no_stun = true }) end
    return net
  end,

  run = function(net, p, cell)
    -- one reader per capture: each poll below parses only what was
    -- appended since the last
    local cap = {}
    for _, n in ipairs({ "left", "right", "left-nat", "right-nat", "left-cgn", "right-cgn",
                         "internet", "sip", "media", "turn" }) do
      if net.nodes[n] then
        local _, abs = natlab.capture(net.nodes[n])
        if not abs then natlab.skip("sip.lua reads its verdict from captures: run it with natlab run") end
        cap[n] = sip.capture(abs)
      end
    end
    local media, ng
    if p.help == "sbc" then
      local _
      _, ng = sip.rtpengine(net, "media")
      media = net.addr.media
    end
    -- ice: the registrar fixes signalling (nathelper), the UAs find the media path
    local ka = EXPECT.keepalive(p)
    sip.kamailio(net, "sip", { help = p.help == "ice" and "nat" or p.help, natping_s = ka == "registrar" and 2 or 0,
                               flow_timer_s = ka == "ua" and 2 or 0, rtpengine = ng, tls = p.transport == "tls" })
    local reg = net.addr.sip
    -- SIP as readable at the registrar: its capture, or over TLS (the
    -- wire carries ciphertext) kamailio's sipdump of what it read and wrote
    local dump = p.transport == "tls" and sip.sipdump(net.nodes.sip, sip.dir() .. "/sipdump") or nil
    local function reg_sip() return dump and dump:read() or cap.sip:read() end
    local function left_sip()
      if not dump then return cap.left:read() end
      return sip.as_seen_at(dump:read(), { [net.addr.left] = true, [net.addr["left-nat"] or ""] = true,
                                           [net.addr["left-cgn"] or ""] = true })
    end
    local ice = p.help == "ice" and { server = "turn:" .. net.addr.turn .. ":3478", user = "natlab", pass = "natlab" }
                or nil
    local start_ua = p.ua == "linphone" and sip.linphone or sip.ua
    -- keepalive=ua: baresip's SIP outbound; linphone's own CRLF keep-alive every 2 s
    start_ua(net, "right", { user = "right", registrar = reg, transport = p.transport, ice = ice,
                             outbound = ka == "ua", keepalive_ms = ka == "ua" and 2000 or 0 })
    local reg_wait = p.ua == "linphone" and 20000 or 4000 -- linphonec starts slowly (below)
    local t_reg = sip.wait_for(reg_wait, function() return sip.registered(reg_sip(), "right") end, 100)
    natlab.event("harness", t_reg and "right registered" or ("right not registered after " .. reg_wait // 1000 .. " s"))
    if p.hold_s > 0 then natlab.sleep_ms(p.hold_s * 1000) end
    start_ua(net, "left", { user = "left", registrar = reg, transport = p.transport, ice = ice,
                            outbound = ka == "ua", keepalive_ms = ka == "ua" and 2000 or 0, dial = "sip:right@" .. reg }) -- the UA adds the transport
    -- linphonec takes seconds to start on a loaded machine (liblinphone
    -- opens its database, probes sound cards): wait for its INVITE to
    -- reach the registrar first, then for the answer as with baresip
    if p.ua == "linphone" then
      local t = sip.wait_for(20000, function()
        return sip.first_message(reg_sip(), function(m, k) return not k.out and m.request == "INVITE" end)
      end, 200)
      natlab.event("harness", t and "left's INVITE reached the registrar" or "no INVITE from left after 20 s")
    end
    local answered = sip.wait_for(6000, function()
      return sip.first_message(left_sip(), function(m, k)
        return not k.out and m.status and m.status >= 200 and m.cseq_method == "INVITE" end)
    end, 100)
    if answered and answered.status == 200 then
      natlab.event("harness", "call answered")
      -- media starts at once through a relay or to a fixed address; ICE
      -- first runs its checks and baresip sends a re-INVITE (seconds).
      -- Wait until RTP reaches both UAs or the settle time is up, then
      -- let the call run media_ms.
      local t_ans = natlab.now_ms()
      local flowing = sip.wait_for(p.help == "ice" and 20000 or 1000, function()
        return sip.rtp_received(cap.left:read()) > 0 and sip.rtp_received(cap.right:read()) > 0
      end, 250)
      natlab.event("harness", flowing and "RTP reaches both UAs" or "RTP does not reach both UAs")
      if flowing then natlab.observe("rtp_both_after_answer_ms", natlab.now_ms() - t_ans) end
      natlab.sleep_ms(p.media_ms)
    end
    sip.stop(net)
    -- the capture processes write each packet as they read it: read on
    -- until the files stop growing (nothing new for 100 ms, at most 1 s)
    local pk = {}
    sip.wait_for(1000, function()
      local grew = 0
      for n, c in pairs(cap) do
        local packets, new = c:read()
        pk[n], grew = packets, grew + new
      end
      return grew == 0
    end, 100)
    if dump then
      -- the registrar's packets: the TLS records on the wire, then the
      -- messages in clear
      local all = {}
      for _, k in ipairs(pk.sip or {}) do all[#all + 1] = k end
      for _, k in ipairs((dump:read())) do all[#all + 1] = k end
      pk.sip = all
    end
    -- the NATs' own account (drop log, counters): quoted when the INVITE
    -- died at the callee's NAT
    local evidence = {}
    for _, n in ipairs({ "left-nat", "right-nat" }) do
      if net.nodes[n] then
        local ok, ev = pcall(net.nodes[n].nat_evidence, net.nodes[n])
        if ok then evidence[n] = ev end
      end
    end
    local v = sip.judge(pk, { a = "left", b = "right", addr = net.addr, media = media, turn = net.addr.turn,
                              registrar = "sip", evidence = evidence, tls = dump ~= nil })
    natlab.observe("sip", v)
    local msg = v.message
    if answered and answered.status ~= 200 and v.class == "no-call" then
      msg = (msg or "") .. string.format(" (%s got %d)", "left", answered.status)
    end
    if v.class ~= "no-reg" and not v.registered.left then
      msg = (msg and msg .. "; " or "") .. "left never registered"
    end
    -- The class is the cell's verdict: the result's path (the report
    -- colours the grid by it), the message and observations; the outcome
    -- says whether it is the expected one.
    local exp = EXPECT.expect(p)
    natlab.observe("class", v.class)
    natlab.observe("expected_class", exp)
    natlab.observe("media_path", v.path)
    local what = v.class .. (v.path ~= "" and (" via " .. v.path) or "")
    local rw = {}
    for _, k in ipairs(natlab.sorted_keys(v.rewrites)) do rw[#rw + 1] = k .. " " .. v.rewrites[k] end
    if #rw > 0 then what = what .. " (rewritten on the way: " .. table.concat(rw, ", ") .. ")" end
    if p.nat_timeout_s > 0 then
      -- what held right's mapping open while it waited for the call
      local k = v.keepalives.right
      local seen = {}
      for _, kind in ipairs({ "options", "stun", "crlf" }) do
        if k[kind] > 0 then seen[#seen + 1] = k[kind] .. " " .. (kind == "options" and "OPTIONS" or kind:upper()) end
      end
      what = what .. string.format(" (keep-alives to right before the INVITE: %s; NAT UDP timeout %d s, %d s wait)",
                                   #seen > 0 and table.concat(seen, ", ") or "none", p.nat_timeout_s, p.hold_s)
    end
    if exp ~= v.class then
      msg = string.format("observed %s, expected %s%s", what, exp, msg and (": " .. msg) or "")
    else
      msg = what .. (msg and (": " .. msg) or "")
    end
    natlab.result { outcome = exp == v.class and "pass" or "fail", message = msg, path = EXPECT.report_class(v.class),
                    data = { sent = v.rtp["left->right"].sent, received = v.rtp["left->right"].received,
                             peer_received = v.rtp["right->left"].received } }
  end,
}
