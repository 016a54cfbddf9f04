-- turn-security.lua - a TURN server must refuse what it should, with the
-- right error, and relay nothing for a refused client.
--
-- A client host on the internet runs natlab-turn-client against the TURN
-- server (UDP 3478; -p servers=natlab, natlab-turn-server, or coturn's
-- turnserver with the same users and realm), with a peer host beside it:
--   unauthenticated  empty credentials          -> 401 Unauthorized
--   wrong-password   a known user, bad password -> 401
--   denied-peer      the server denies the peer's address (--deny): the
--                    allocation succeeds, CreatePermission gets 403 Forbidden
--   quota            --user-quota 1: a first client holds its allocation, a
--                    second one for the same user gets 486 Allocation Quota
--                    Reached
--   stale-nonce      --nonce-lifetime 1 and a 3 s allocation held 2.5 s: the
--                    refresh carries an expired nonce -> 438 Stale Nonce (the
--                    server says so in a stale-nonce event); the client
--                    retries with the fresh nonce and keeps its allocation
--   ok               the control: allocation, permission, data echoed back
-- Each refused cell also checks that nothing reached the peer: a counting
-- listener on the peer (natlab-stun-server on port 9 counts every datagram
-- it receives, STUN or not), natlab-turn-server's own counters (alloc-end
-- pkts_to_peer) and the client's data event (received 0). The ok control
-- must see its datagrams arrive there. Observations: `codes` (state/result
-- codes seen), `peer_rx`, `pkts_to_peer` (natlab's server only).
--
-- A 438 is the one refusal a client recovers from by itself (RFC 8489
-- §9.2.4: it retries with the new nonce), so natlab-turn-client does not
-- report it; the cell reads natlab-turn-server's stale-nonce events. coturn
-- has no such events, so against coturn stale-nonce is skipped (with why).
--
-- coturn gets the same refusals from its own flags: --denied-peer-ip,
-- --user-quota=1, --stale-nonce=1.
natlab.scen.use_dir()
local S = natlab.scen

local CASES = {
  ["ok"] = { want = 0 },
  ["unauthenticated"] = { user = "", pass = "", want = 401 },
  ["wrong-password"] = { user = "natlab", pass = "not-the-password", want = 401 },
  ["denied-peer"] = { want = 403, deny_peer = true },
  ["quota"] = { want = 486, quota = true },
  ["stale-nonce"] = { want = 438, stale = true },
}

scenario {
  name = "turn-security",
  description = "TURN refusals: unauthenticated, wrong password, denied peer, quota; each with its error, nothing relayed",
  params = {
    case = { description = "ok, unauthenticated, wrong-password, denied-peer, quota, stale-nonce", default = "wrong-password" },
    servers = { description = "TURN server implementation: natlab or coturn", default = "natlab" },
  },
  matrix = { case = { "ok", "unauthenticated", "wrong-password", "denied-peer", "quota", "stale-nonce" } },
  grid = { name = "turn-security: refused with the right error", rows = "case", split = { "servers" } },
  timeout_ms = 30000,

  network = function(p)
    S.need_lab()
    local c = CASES[p.case]
    if not c then error("turn-security: unknown case '" .. tostring(p.case) .. "'", 0) end
    local net = natlab.net()
    net:internet()
    net:public_host("client")
    net:public_host("peer")
    net:public_host("turn")
    local extra, cextra = { "--stats-ms", "0" }, {}
    if c.deny_peer then
      extra = { "--deny", net.addr.peer .. "/32" }
      cextra = { "--denied-peer-ip=" .. net.addr.peer }
    end
    if c.quota then extra = { "--user-quota", "1" }; cextra = { "--user-quota=1" } end
    if c.stale then
      if p.servers == "coturn" then
        natlab.skip("stale-nonce is checked against natlab-turn-server only: coturn reports no " ..
                    "stale-nonce events and natlab-turn-client recovers from a 438 silently")
      end
      extra = { "--nonce-lifetime", "1", "--lifetime", "3" }
    end
    net.srv = S.servers(net, p, { no_stun = true, turn_args = extra, coturn_args = cextra })
    -- the peer counts what reaches it (natlab-stun-server counts every
    -- datagram as a request; the relayed data is no STUN, so it answers none)
    local ss = natlab.bin("natlab-stun-server")
    if not ss then natlab.skip("natlab-stun-server is not built") end
    net.peer_counter = net.nodes.peer:spawn({ ss, "--addr", net.addr.peer, "--port", "9" },
                                            { name = "peer-counter" })
    local ev = net.peer_counter:event(5000)
    if not ev or ev.ev ~= "ready" then error("the peer's counter (natlab-stun-server) did not start", 0) end
    return net
  end,

  run = function(net, p)
    local c = CASES[p.case]
    local tc = natlab.bin("natlab-turn-client")
    if not tc then natlab.skip("natlab-turn-client is not built") end
    -- (the quota case's holder sends nothing: whatever reaches the peer
    -- came through the refused client)
    local function client(name, hold)
      local argv = { tc, "--server", "udp:" .. net.addr.turn .. ":3478", "--user", c.user or "natlab",
                     "--pass", c.pass or "natlab", "--peer", net.addr.peer .. ":9",
                     "--count", hold and "0" or "5",
                     "--interval-ms", "20", "--timeout-ms", "4000" }
      if hold then argv[#argv + 1] = "--hold-ms"; argv[#argv + 1] = tostring(hold) end
      if c.stale then
        -- a 3 s allocation is refreshed at half its life, after the 1 s nonce expired
        for _, a in ipairs({ "--lifetime", "3", "--hold-ms", "2500" }) do argv[#argv + 1] = a end
      end
      return net.nodes.client:spawn(argv, { name = name })
    end
    local holder
    if c.quota then
      holder = client("holder", 4000)
      repeat
        local ev = holder:event(4000)
        if not ev then natlab.fail("the first client of the quota case never allocated") end
      until ev.ev == "allocated"
    end
    local cl = client("client")
    local codes, data, allocated, refreshed = {}, nil, false, 0
    while true do
      local ev = cl:event(8000)
      if not ev then break end
      if (ev.ev == "state" or ev.ev == "result") and ev.code and ev.code ~= 0 then
        codes[#codes + 1] = (ev.op or ev.state) .. ":" .. ev.code
      end
      if ev.ev == "allocated" then allocated = true end
      if ev.ev == "result" and ev.op == "refresh" and (ev.code or 0) == 0 then refreshed = refreshed + 1 end
      if ev.ev == "data" then data = ev end
    end
    cl:wait(3000)
    if holder then holder:kill() end
    natlab.observe("codes", codes)
    natlab.observe("allocated", allocated)
    natlab.observe("client_data", data)
    -- what reached the peer: its counter's stats at stop
    local peer_rx
    net.peer_counter:send { cmd = "stop" }
    repeat
      local ev = net.peer_counter:event(2000)
      if ev and ev.ev == "stats" then peer_rx = ev.requests end
    until not ev or peer_rx
    natlab.observe("peer_rx", peer_rx)
    -- natlab-turn-server's counters: stop it, read each alloc-end
    local to_peer, stale = 0, {}
    if p.servers == "natlab" then
      net.srv.turn:send { cmd = "stop" }
      local until_ms = natlab.now_ms() + 2000
      while natlab.now_ms() < until_ms do
        local ev = net.srv.turn:event(until_ms - natlab.now_ms())
        if not ev then break end
        -- (in the quota case the holder's own allocation is not the refused one)
        if ev.ev == "alloc-end" and not c.quota then
          to_peer = to_peer + (ev.pkts_to_peer or 0)
        end
        if ev.ev == "stale-nonce" then stale[#stale + 1] = ev.method end
      end
      natlab.observe("pkts_to_peer", to_peer)
      natlab.observe("stale_nonce", stale)
    end
    if peer_rx == nil then natlab.fail("the peer's counter reported no stats") end
    if peer_rx > to_peer then to_peer = peer_rx end
    local seen = table.concat(codes, ",")
    if c.want == 0 then
      if not allocated or #codes > 0 then
        natlab.result { outcome = "fail", message = "the control client failed: " .. seen }
      elseif peer_rx == 0 then
        natlab.result { outcome = "fail", message = "the control client allocated but nothing reached the peer" }
      else
        natlab.result { message = string.format("allocated; %d datagram(s) relayed to the peer", peer_rx) }
      end
      return
    end
    if c.stale then
      if #stale == 0 then
        natlab.result { outcome = "fail", message = "no request was refused with 438 Stale Nonce" }
      elseif not allocated or #codes > 0 or refreshed == 0 then
        natlab.result { outcome = "fail", message = string.format(
          "438 on %s, but the client did not recover: [%s]", table.concat(stale, ","), seen) }
      else
        natlab.result { message = string.format(
          "refused with 438 on %s; the client retried with the fresh nonce (%d refresh(es) succeeded)",
          table.concat(stale, ","), refreshed) }
      end
      return
    end
    local hit = false
    for _, x in ipairs(codes) do
      if x:match(":" .. c.want .. "$") then hit = true end
    end
    if not hit then
      natlab.result { outcome = "fail", message = string.format("expected error %d, saw [%s]", c.want, seen) }
    elseif to_peer > 0 or (data and (data.received or 0) > 0) then
      natlab.result { outcome = "fail", message = string.format(
        "refused with %d but %d packet(s) reached the peer", c.want, to_peer) }
    else
      natlab.result { message = string.format("refused with %d (%s); nothing relayed", c.want, seen) }
    end
  end,
}
