-- keepalive.lua - NAT mappings that time out during a quiet session.
--
-- Both sides sit behind port-restricted-cone NATs (random port choice, so an
-- expired mapping does not come back on the same port) whose UDP mappings live
-- `nat_timeout_s` (2 s) after their last outbound packet (inbound packets
-- do not refresh them: RFC 4787 REQ-6 makes that a MAY). The agents
-- connect directly (srflx), exchange data, then go quiet for `idle_ms`
-- (5 s) of application silence, then the right side sends again.
--   keepalive = true   the agents send consent checks (RFC 7675, which are
--                      also the RFC 8445 §11 keepalives) every 1 s: the
--                      mappings survive, data flows after the idle period.
--   keepalive = false  --keepalive-ms 0: nothing is sent while idle, the
--                      mappings expire; the cell passes when the lab CATCHES
--                      the broken session (no datagram crosses after the idle
--                      period), and records when it broke.
-- When it broke is observed, not computed: while the session is idle the
-- harness reads each NAT's conntrack table every `watch_ms` (50 ms,
-- node:conntrack) and notes when the flow carrying the call, from the
-- mapping the peer sees (its selected remote) to the peer's public
-- endpoint, is gone (with inbound_refreshes off its conntrack timeout is
-- the mapping's, docs/nat-model.md). Observations: `left_mapping_gone_ms`
-- and `right_mapping_gone_ms` (cell-relative, nil while it lived), their
-- lifetimes after the last data the harness had sent
-- (`*_mapping_lived_ms`, about nat_timeout_s plus the acks' lag, to
-- `watch_ms`), `broke_at_ms` = the earlier of the two, `first_lost_ms` =
-- when the right side sent the first datagram the left one never got.
-- With keepalives on, both flows must stay in conntrack throughout.
-- Whether data crossed after the silence is the wire's word (natlab.wire
-- at both NATs' outsides, the `wire` record of that last window): the
-- right side's datagrams reaching the left NAT and the left side's
-- acknowledgements leaving it, i.e. a direct path both ways; an agent's
-- `rx` count that the wire contradicts fails the cell.
--
--   natlab run keepalive -p idle_ms=10000
natlab.scen.use_dir()
local S = natlab.scen

scenario {
  name = "keepalive",
  description = "mapping timeouts shorter than a session's idle period: keepalives on survive, off is caught",
  params = {
    keepalive = { description = "agents send consent checks / keepalives while idle", default = true },
    nat_timeout_s = { description = "NAT UDP mapping timeout (s)", default = 2 },
    idle_ms = { description = "application silence after connecting (ms)", default = 5000 },
    keepalive_ms = { description = "consent/keepalive period when on (ms)", default = 1000 },
    left_impl = { description = "left ICE agent program", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation", default = "natlab" },
    watch_ms = { description = "how often the NATs' conntrack tables are read while idle (ms)", default = 50 },
    wire = { description = "judge the data after the silence on the wire (false: the agents' rx events only)", default = true },
  },
  matrix = { keepalive = { true, false } },
  grid = { name = "keepalive: data after an idle period longer than the NAT timeout", rows = "keepalive" },
  timeout_ms = 40000,

  network = function(p)
    S.need_lab()
    local net = natlab.net()
    net:internet()
    -- random ports: a port-preserving NAT would hand an expired mapping's
    -- port straight back, and two sides sending at once would heal the
    -- session by chance (the lab saw exactly that)
    local knobs = { udp_timeout_s = p.nat_timeout_s, inbound_refreshes = false, ports = "random" }
    S.side(net, "left", "port-restricted-cone", knobs)
    S.side(net, "right", "port-restricted-cone", knobs)
    net.srv = S.servers(net, p, { no_turn = true })
    net.wire = S.watch(net, { "left", "right" }, p)
    return net
  end,

  run = function(net, p, cell)
    local ka = p.keepalive and tostring(p.keepalive_ms) or "0"
    local args = { "--ta-ms", "10", "--rto-ms", "100", "--keepalive-ms", ka,
                   "--consent-timeout-ms", tostring(p.idle_ms * 4) }
    local l = S.agent(net, "left", p.left_impl, { role = "controlling", name = "left", turn = false, args = args }, cell)
    local r = S.agent(net, "right", p.right_impl, { role = "controlled", name = "right", turn = false, args = args }, cell)
    local res = natlab.ice_connect(l, r, { timeout_ms = 10000, names = { "left", "right" } })
    if not res.ok then S.stop({ l, r }); return end
    local before = S.two_way(l, r, { n = 3 })
    local last_tx = natlab.now_ms()
    natlab.observe("before_idle", before)
    -- the call's flow in each NAT: the mapping the peer selected as its
    -- remote, toward the peer's own public endpoint
    local flows = {}
    for _, side in ipairs({ "left", "right" }) do
      local peer = side == "left" and "right" or "left"
      local me, them = res.selected[peer], res.selected[side]
      if me and me.remote and them and them.remote then
        flows[side] = { node = net.nodes[side .. "-nat"], pub = me.remote.address, port = me.remote.port,
                        peer = them.remote.address, peer_port = them.remote.port }
      end
    end
    local function present(f)
      for _, c in ipairs(f.node:conntrack()) do
        if c.rdst == f.pub and c.rdport == f.port and c.rsrc == f.peer and c.rsport == f.peer_port then
          return true
        end
      end
      return false
    end
    for side, f in pairs(flows) do
      if not present(f) then
        natlab.result { outcome = "fail", message = side .. " NAT has no conntrack flow " .. f.pub .. ":" .. f.port ..
                        " <-> " .. f.peer .. ":" .. f.peer_port .. " right after the data" }
      end
    end
    natlab.event("harness", "idle")
    local gone = {}
    local idle_end = natlab.now_ms() + p.idle_ms
    while natlab.now_ms() < idle_end do
      for side, f in pairs(flows) do
        if not gone[side] and not present(f) then
          gone[side] = natlab.now_ms()
          natlab.event("harness", side .. "-mapping-gone")
        end
      end
      natlab.sleep_ms(math.max(1, math.min(p.watch_ms, idle_end - natlab.now_ms())))
    end
    local broke_at = nil
    for side, t in pairs(gone) do
      natlab.observe(side .. "_mapping_gone_ms", t)
      natlab.observe(side .. "_mapping_lived_ms", t - last_tx)
      if not broke_at or t < broke_at then broke_at = t end
    end
    -- drain what the agents said while idle (consent-lost, state changes)
    while true do
      local i, ev = natlab.poll({ l, r }, 0)
      if not i then break end
      if ev.ev == "consent-lost" then natlab.observe("consent_lost_" .. (i == 1 and "left" or "right"), ev.t_ms) end
    end
    -- after the silence the RIGHT side speaks first (the left one only
    -- answers): whether the left NAT still lets it in is the question. Had
    -- both sent at once, each NAT would re-open its filter for the other
    -- and a port-keeping NAT would revive the old session by chance.
    if net.wire then net.wire:snap("data0") end
    local resend = natlab.now_ms()
    r:send { cmd = "send", n = 5, size = 200, interval_ms = 20 }
    local got, deadline = 0, natlab.now_ms() + 1500
    while natlab.now_ms() < deadline do
      local i, ev = natlab.poll({ l, r }, deadline - natlab.now_ms())
      if not i then break end
      if i == 1 and ev.ev == "rx" then got = got + 1 end
    end
    local after = { a_rx = got, b_rx = got, n = 5 }
    natlab.observe("after_idle_left_rx", got)
    local survived = got > 0
    if net.wire then
      -- the lab's own word on that window: the right side's data into the
      -- left NAT and the left side's acknowledgements out of it
      local w = net.wire:judge("data0", "data1")
      local crossed = w.settled.class == "direct"
      natlab.result { wire = w }
      natlab.observe("after_idle_wire", w.settled.class)
      if crossed ~= survived then
        natlab.result { outcome = "fail", message = string.format(
          "left reported %d datagrams after the silence, but the wire shows %s", got,
          crossed and "data crossing both ways" or "no two-way data (settled: " .. w.settled.class .. ")") }
        S.stop({ l, r })
        return
      end
    end
    if p.keepalive then
      if not survived then
        natlab.result { outcome = "fail", message = string.format(
          "keepalives every %d ms did not keep %d s mappings alive (left got %d, right %d after %d ms idle)",
          p.keepalive_ms, p.nat_timeout_s, after.a_rx, after.b_rx, p.idle_ms) }
      elseif broke_at then
        natlab.result { outcome = "fail", message = string.format(
          "keepalives every %d ms, yet a NAT flow of the call left conntrack at %d ms", p.keepalive_ms, broke_at) }
      end
    else
      natlab.observe("silent_for_ms", p.idle_ms)
      if not survived then natlab.observe("first_lost_ms", resend) end
      if broke_at then natlab.observe("broke_at_ms", broke_at) end
      if survived then
        natlab.result { outcome = "fail", message = string.format(
          "without keepalives the session survived %d ms of silence behind %d s mappings: the NAT timeout is not enforced",
          p.idle_ms, p.nat_timeout_s) }
      elseif not broke_at then
        natlab.result { outcome = "fail", message = string.format(
          "no data after %d ms idle, but both NAT flows of the call stayed in conntrack: why it broke is unexplained",
          p.idle_ms) }
      else
        natlab.result { message = string.format(
          "caught: without keepalives the first mapping left conntrack at %d ms, %d ms after the last data (timeout %d s); the first datagram after %d ms idle was lost",
          broke_at, broke_at - last_tx, p.nat_timeout_s, p.idle_ms) }
      end
    end
    S.stop({ l, r })
  end,
}
