-- rebinding.lua - the path under a call changes: NAT flush, NAT reboot with
-- a new public address, a host roaming to another network. Consent freshness
-- (RFC 7675) must notice, an ICE restart (RFC 8445 §9) must recover.
--
-- left behind `left_nat`, right behind `right_nat`; the agents run consent
-- checks every 500 ms and declare consent lost after 2 s without an answer.
-- `fault_ms` after the pair is selected (data flowing both ways):
--   flush    the left NAT drops every mapping (nat_flush), rules kept
--   reboot   the left NAT comes back with a NEW public address (re-applied
--            with 198.51.100.77, conntrack flushed): every srflx is stale
--   roam     the left host leaves its LAN for a second NAT's LAN (net:roam:
--            old link down, new private address, new public address)
-- Then the harness waits for a consent-lost event (either side), sends
-- `restart` to the left agent, relays the new candidates both ways, and
-- waits for both sides to select again and for data to cross both ways.
-- Observations: `detect_ms` (fault -> first consent-lost; null when the
-- session survived the fault, e.g. a port-preserving NAT re-creating the
-- same mapping after a flush), `recover_ms` (fault -> both selected again),
-- `path_after`. The cell fails when the restart does not recover, or when a
-- fault that must break the path (reboot, roam) goes unnoticed. The fault
-- itself is on the cell's timeline (src "fault": nat-flush, nat-reapply,
-- iface-down + roam), stamped by the harness.
--
--   natlab run rebinding --trials 5
natlab.scen.use_dir()
local S = natlab.scen

-- Relay restart signalling until both agents select (or time runs out).
local function restart(l, r, timeout_ms)
  local procs = { l, r }
  local selected = {}
  local t0 = natlab.now_ms()
  l:send { cmd = "restart" }
  local deadline = t0 + timeout_ms
  while natlab.now_ms() < deadline do
    local i, ev = natlab.poll(procs, deadline - natlab.now_ms())
    if not i then break end
    local other = procs[3 - i]
    if ev.ev == "local" then
      -- session: the WebRTC session parameters, relayed verbatim as
      -- natlab.ice_connect does (a DTLS fingerprint the peer must keep)
      other:send { cmd = "remote", ufrag = ev.ufrag, pwd = ev.pwd, candidates = ev.candidates or {},
                   session = ev.session }
      if ev.complete then other:send { cmd = "end-of-candidates" } end
    elseif ev.ev == "candidate" then
      if ev["end"] then other:send { cmd = "end-of-candidates" }
      elseif ev.candidate then other:send { cmd = "candidate", candidate = ev.candidate } end
    elseif ev.ev == "selected" or ev.ev == "switched" then
      selected[i] = ev
      if selected[1] and selected[2] then
        return true, natlab.path_of(selected[1], selected[2]), selected
      end
    end
  end
  return false, "failed", selected
end

scenario {
  name = "rebinding",
  description = "NAT flush, NAT reboot with a new address, host roaming: consent notices, ICE restart recovers",
  params = {
    fault = { description = "flush, reboot or roam", default = "reboot" },
    left_nat = { kind = "nat_preset", description = "left NAT preset", default = "port-restricted-cone" },
    right_nat = { kind = "nat_preset", description = "right NAT preset", default = "port-restricted-cone" },
    fault_ms = { description = "fault this long after the call is up (ms)", default = 500 },
    left_impl = { description = "left ICE agent program", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation", default = "natlab" },
  },
  matrix = { fault = { "flush", "reboot", "roam" } },
  grid = { name = "rebinding: path after the ICE restart", rows = "fault" },
  timeout_ms = 40000,

  network = function(p)
    S.need_lab()
    local net = natlab.net()
    net:internet()
    S.side(net, "left", p.left_nat)
    S.side(net, "right", p.right_nat)
    if p.fault == "roam" then net:nat("roam-nat", p.left_nat) end
    net.srv = S.servers(net, p)
    return net
  end,

  run = function(net, p, cell)
    local args = { "--ta-ms", "10", "--rto-ms", "100", "--nominate-wait-ms", "300",
                   "--keepalive-ms", "500", "--consent-timeout-ms", "2000" }
    local turn = S.turn_urls(net, "udp")
    local l = S.agent(net, "left", p.left_impl, { role = "controlling", name = "left", trickle = true,
                                                  turn = turn, args = args, gather_timeout_ms = 1000 }, cell)
    local r = S.agent(net, "right", p.right_impl, { role = "controlled", name = "right", trickle = true,
                                                    turn = turn, args = args, gather_timeout_ms = 1000 }, cell)
    local res = natlab.ice_connect(l, r, { trickle = true, timeout_ms = 10000, names = { "left", "right" } })
    if not res.ok then S.stop({ l, r }); return end
    local before = S.two_way(l, r, { n = 3 })
    natlab.observe("path_before", res.path)
    if not before.ok then natlab.fail("no data before the fault") end
    natlab.sleep_ms(p.fault_ms)
    local t_fault = natlab.now_ms()
    local nat = net.nodes["left-nat"]
    if p.fault == "flush" then
      nat:nat_flush()
    elseif p.fault == "reboot" then
      local new = "198.51.100.77"
      nat:addr("eth0", new .. "/32")
      net:internet():route(new .. "/32", net.addr["left-nat"])
      local preset = p.left_nat == "cgnat" and S.CGNAT_HOME or p.left_nat
      nat:nat { preset = preset, outside = "eth0", public = { new } }
    elseif p.fault == "roam" then
      net:roam("left", net.nodes["roam-nat"])
    else
      natlab.fail("unknown fault " .. tostring(p.fault))
    end
    -- consent freshness: wait for a consent-lost from either side
    local detect, deadline = nil, natlab.now_ms() + 4000
    while natlab.now_ms() < deadline do
      local i, ev = natlab.poll({ l, r }, deadline - natlab.now_ms())
      if not i then break end
      if ev.ev == "consent-lost" then
        detect = natlab.now_ms() - t_fault
        natlab.observe("consent_lost_by", i == 1 and "left" or "right")
        break
      end
    end
    natlab.observe("detect_ms", detect)
    local ok, path, sel = restart(l, r, 10000)
    local rec = natlab.now_ms() - t_fault
    natlab.observe("path_after", path)
    natlab.result { path = path, connect_ms = ok and rec or nil, selected = sel[1] }
    if ok then
      natlab.observe("recover_ms", rec)
      local after = S.two_way(l, r, { n = 3 })
      natlab.observe("after", after)
      if not after.ok then
        natlab.result { outcome = "fail", message = "restart selected " .. path .. " but data does not flow both ways" }
      elseif not detect and p.fault ~= "flush" then
        natlab.result { outcome = "fail", message = "the " .. p.fault .. " broke the path but no consent-lost came within 4 s" }
      else
        natlab.result { message = string.format("detected in %s ms, recovered in %d ms over %s",
                                                tostring(detect), rec, path) }
      end
    else
      natlab.result { outcome = "fail", message = "the ICE restart did not recover within 10 s" }
    end
    S.stop({ l, r })
  end,
}
