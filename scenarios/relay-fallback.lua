-- relay-fallback.lua - why a direct path fails, which relay saves the call,
-- and what the relay costs.
--
-- One cell per reason:
--   none              port-restricted x port-restricted: direct (baseline)
--   apd-filter        symmetric x port-restricted: the symmetric side's new
--                     port per destination meets address-and-port filtering
--                     -> TURN over UDP
--   udp-blocked       a network without UDP -> TURN over TCP (port 80) or TLS
--   web-only          outbound TCP to 80/443 only, TURN offered on TLS 443
--                     only -> TURN over TLS
--   udp-blocked-ice-tcp  a network without UDP facing an open (untranslated)
--                     host, both agents with ICE-TCP (RFC 6544, --tcp): a
--                     direct TCP pair (active -> passive) instead of a relay;
--                     the observation `transport` says tcp
--   turn-unreachable  symmetric x symmetric and the TURN server is down: no
--                     path can exist; the cell passes when both agents give
--                     up cleanly with a reason (expected path "failed"), not
--                     when the harness has to time them out
-- Cost, in observations: `rtt_ms_median`/`rtt_ms_p95` of 50 datagrams over
-- the selected pair, and `relay_bytes`: what natlab-turn-server counted
-- through all allocations (alloc-end events; ICE checks included),
-- `relay_bytes_selected` through the selected relay's own allocation (a
-- relayed cell fails when that is less than the 50 x 200 bytes sent;
-- coturn reports no counters, so with servers=coturn neither is kept). The
-- added latency is measured against a direct baseline in the same cell
-- (baseline = true): once the call is over, two more hosts of the same
-- lab, each behind its own port-restricted-cone NAT (the topology without
-- the obstacle), connect with the same agents and timers, STUN only, and
-- send the same 50 datagrams: `baseline_rtt_ms_median`/`_p95`,
-- `baseline_path`, and `added_rtt_ms_median`/`_p95` = the call's minus the
-- baseline's (about 0 in the `none` cell: the noise floor).
--
--   natlab run relay-fallback --trials 5
natlab.scen.use_dir()
local S = natlab.scen

local REASONS = {
  ["none"] = { left = "port-restricted-cone", right = "port-restricted-cone", expect = "direct" },
  ["apd-filter"] = { left = "symmetric", right = "port-restricted-cone", expect = "relay" },
  ["udp-blocked"] = { left = "udp-blocked", right = "port-restricted-cone", expect = "relay-tcp" },
  ["web-only"] = { left = "tcp-web-only", right = "port-restricted-cone", expect = "relay-tcp", turn = { "udp", "tls" } },
  ["udp-blocked-ice-tcp"] = { left = "udp-blocked", right = "open", expect = "direct", ice_tcp = true },
  ["turn-unreachable"] = { left = "symmetric", right = "symmetric", expect = "failed", no_turn_server = true },
}

-- 50 numbered datagrams from @a; its data event (RTT from the acks) or nil
local function rtt(a, b)
  a:send { cmd = "send", n = 50, size = 200, interval_ms = 5 }
  local deadline = natlab.now_ms() + 5000
  while natlab.now_ms() < deadline do
    local i, ev = natlab.poll({ a, b }, deadline - natlab.now_ms())
    if not i then return nil end
    if i == 1 and ev.ev == "data" then return ev end
  end
  return nil
end

-- The same call without the obstacle: base-left and base-right, each
-- behind a port-restricted-cone NAT, STUN only; its data event or nil.
local function baseline(net, p, cell, args)
  local bl = S.agent(net, "base-left", p.left_impl, { role = "controlling", name = "base-left", trickle = true,
                                                      turn = false, args = args, gather_timeout_ms = 1000 }, cell)
  local br = S.agent(net, "base-right", p.right_impl, { role = "controlled", name = "base-right", trickle = true,
                                                        turn = false, args = args, gather_timeout_ms = 1000 }, cell)
  local res = natlab.ice_connect(bl, br, { trickle = true, timeout_ms = p.timeout_ms,
                                           names = { "base-left", "base-right" }, record = false })
  local ev = nil
  natlab.observe("baseline_path", res.path)
  if res.ok then ev = rtt(bl, br) end
  S.stop({ bl, br })
  return ev
end

scenario {
  name = "relay-fallback",
  description = "each reason a direct path fails, the relay that saves it, its cost; TURN down -> a clean failure",
  params = {
    reason = { description = "why the direct path fails (none, apd-filter, udp-blocked, web-only, udp-blocked-ice-tcp, turn-unreachable)", default = "apd-filter" },
    left_impl = { description = "left ICE agent program", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation", default = "natlab" },
    timeout_ms = { description = "time allowed to select a pair (or to give up)", default = 15000 },
    wire = { description = "judge the path on the wire (false: the agents' claims only)", default = true },
    baseline = { description = "also measure a direct call of the same lab without the obstacle", default = true },
  },
  matrix = { reason = { "none", "apd-filter", "udp-blocked", "web-only", "udp-blocked-ice-tcp", "turn-unreachable" } },
  grid = { name = "relay-fallback: the relay that saves each call", rows = "reason" },
  expect = function(p) return REASONS[p.reason] and REASONS[p.reason].expect end,
  timeout_ms = 40000,

  network = function(p)
    S.need_lab()
    local r = REASONS[p.reason]
    if not r then error("relay-fallback: unknown reason '" .. tostring(p.reason) .. "'", 0) end
    local net = natlab.net()
    net:internet()
    S.side(net, "left", r.left)
    S.side(net, "right", r.right)
    if r.no_turn_server then
      net:public_host("turn") -- the address is there, nothing answers
      net.srv = S.servers(net, p, { no_turn = true })
      net.srv.tls = true
    else
      net.srv = S.servers(net, p)
    end
    net.wire = S.watch(net, { "left", "right" }, p)
    if p.baseline then
      S.side(net, "base-left", "port-restricted-cone")
      S.side(net, "base-right", "port-restricted-cone")
    end
    return net
  end,

  run = function(net, p, cell)
    local r = REASONS[p.reason]
    local turn = S.turn_urls(net, r.turn or "all", net.srv.tls)
    local args = { "--ta-ms", "10", "--rto-ms", "100", "--nominate-wait-ms", "300" }
    if r.ice_tcp then args[#args + 1] = "--tcp" end
    local l = S.agent(net, "left", p.left_impl, { role = "controlling", name = "left", trickle = true,
                                                  turn = turn, args = args, gather_timeout_ms = 1000 }, cell)
    local rr = S.agent(net, "right", p.right_impl, { role = "controlled", name = "right", trickle = true,
                                                     turn = turn, args = args, gather_timeout_ms = 1000 }, cell)
    if r.ice_tcp then
      -- an agent that declares no ICE-TCP cannot be judged on a TCP pair
      -- (docs/agent-protocol.md, Capabilities): the cell is unsupported
      natlab.need("left", l, "ice-tcp", "the cell needs (it judges the pair over TCP)")
      natlab.need("right", rr, "ice-tcp", "the cell needs (it judges the pair over TCP)")
    end
    local res = natlab.ice_connect(l, rr, { trickle = true, timeout_ms = p.timeout_ms,
                                            names = { "left", "right" }, record = false })
    if not res.ok then
      natlab.result { path = "failed", message = res.reason }
      natlab.observe("failure", res.reason)
      if r.expect == "failed" and res.reason and res.reason:match("^timed out") then
        natlab.result { outcome = "fail", message = "no agent gave up by itself: " .. res.reason }
      end
      S.stop({ l, rr })
      return
    end
    -- the cost: RTT over the selected pair, from the agent's
    -- acknowledgements; these datagrams (and the acks back) are also the
    -- window the wire judges (docs/expected-matrix.md, "Verdicts")
    local obs = net.wire
    if obs then obs:snap("data0") end
    local ev = rtt(l, rr)
    local w = obs and obs:judge("data0", "data1") or nil
    S.record_class(res, cell, { names = { "left", "right" }, wire = w, known_addrs = obs and obs:addrs() })
    local sel = res.selected and res.selected.left
    if sel and sel["local"] then natlab.observe("transport", sel["local"].transport or "udp") end
    if r.ice_tcp and not (sel and sel["local"] and sel["local"].transport == "tcp") then
      natlab.result { outcome = "fail", message = "ICE-TCP offered on both sides but the selected pair is not TCP" }
    end
    if ev then
      natlab.result { data = ev }
      natlab.observe("rtt_ms_median", ev.rtt_ms_median)
      natlab.observe("rtt_ms_p95", ev.rtt_ms_p95)
    end
    if not ev or (ev.acked or 0) == 0 then natlab.result { outcome = "fail", message = "no datagram acknowledged" } end
    S.stop({ l, rr })
    -- bytes through the relay: each allocation's counters when it ends
    -- (natlab-ice deletes its allocations as it stops, RFC 8656 §8); the
    -- selected relay's own allocation is the one whose relayed address is
    -- the relayed candidate of the selected pair
    local sel_relay = {}
    for _, side in ipairs({ "left", "right" }) do
      local s = res.selected[side]
      if s and s["local"] and s["local"].type == "relay" then
        sel_relay[s["local"].address .. ":" .. s["local"].port] = true
      end
    end
    local bytes, allocs, sel_bytes = 0, 0, 0
    if net.srv.turn and p.servers == "natlab" then
      local until_ms = natlab.now_ms() + 1500
      while natlab.now_ms() < until_ms do
        local ev = net.srv.turn:event(until_ms - natlab.now_ms())
        if not ev then break end
        if ev.ev == "alloc-end" then
          local b = (ev.bytes_to_peer or 0) + (ev.bytes_from_peer or 0)
          allocs = allocs + 1
          bytes = bytes + b
          for _, a in ipairs(type(ev.relay) == "table" and ev.relay or {}) do
            if sel_relay[a] then sel_bytes = sel_bytes + b end
          end
        end
      end
    end
    if p.servers == "natlab" then
      natlab.observe("relay_bytes", bytes)
      natlab.observe("relay_bytes_selected", sel_bytes)
      natlab.observe("relay_allocations_ended", allocs)
      if S.class(res.path) ~= "direct" and sel_bytes < 50 * 200 then
        natlab.result { outcome = "fail", message = string.format(
          "relayed path but the selected relay's allocation counted %d bytes, less than the 50 x 200 sent", sel_bytes) }
      end
    else
      natlab.observe("relay_bytes", "not counted: " .. tostring(p.servers) .. " reports no per-allocation counters")
    end
    if p.baseline and ev and ev.rtt_ms_median then
      local base = baseline(net, p, cell, args)
      if base and base.rtt_ms_median then
        natlab.observe("baseline_rtt_ms_median", base.rtt_ms_median)
        natlab.observe("baseline_rtt_ms_p95", base.rtt_ms_p95)
        -- to the microsecond the agents measure in
        local function us(x) return math.floor(x * 1000 + 0.5) / 1000 end
        natlab.observe("added_rtt_ms_median", us(ev.rtt_ms_median - base.rtt_ms_median))
        if ev.rtt_ms_p95 and base.rtt_ms_p95 then natlab.observe("added_rtt_ms_p95", us(ev.rtt_ms_p95 - base.rtt_ms_p95)) end
      else
        natlab.result { outcome = "fail", message = "the direct baseline call measured no RTT" }
      end
    end
  end,
}
