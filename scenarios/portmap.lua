-- portmap.lua - ICE through NATs that offer port mapping (NAT knob
-- `portmap`, docs/nat-model.md "Port mapping"; the expected table and its
-- derivation: docs/scenarios.md "portmap").
--
-- Two hosts, each behind its own NAT of the chosen presets; both NATs run
-- miniupnpd with the protocols of `portmap` (none: no server). The agents
-- are natlab-ice with --portmap auto (PCP, then NAT-PMP): each asks its
-- gateway for a mapping of its host candidate's port and offers the mapped
-- address as a server-reflexive candidate. The peer's checks to that
-- address are let in by the mapping whatever the NAT's filtering, so a
-- pair that no NAT would open by hole punching (symmetric x symmetric)
-- becomes direct. With `upnp` only, natlab-ice (no UPnP client) maps
-- nothing and the path is what it is without port mapping.
-- With fault=restart, the right NAT's server restarts after the pair is
-- selected (every mapping lost, new epoch, RFC 6887 §8.5): natlab-ice
-- sees the epoch at its next renewal (--portmap-lifetime 8: every 4 s),
-- maps again, and datagrams must still cross both ways afterwards.
--
--   natlab run portmap
--   natlab run portmap -p left=symmetric -p right=symmetric -p portmap=pcp
natlab.scen.use_dir()
local S = natlab.scen

-- The path class without port mapping (scenarios/matrix_expected.lua).
local BASE = {
  ["port-restricted-cone"] = { ["port-restricted-cone"] = "direct", symmetric = "relay" },
  symmetric = { ["port-restricted-cone"] = "relay", symmetric = "relay" },
}

-- Whether implementation @impl maps ports through what the NATs serve:
-- natlab-ice speaks PCP and NAT-PMP (not UPnP IGD); libnice (natlab-nice
-- --upnp) UPnP IGD only. Other programs are not asked to.
local function maps(impl, portmap)
  if impl:find("nice", 1, true) then return portmap:find("upnp", 1, true) ~= nil end
  if impl == "natlab-ice" then
    return portmap:find("pcp", 1, true) ~= nil or portmap:find("natpmp", 1, true) ~= nil
  end
  return false
end

local function expected(p)
  local base = BASE[p.left] and BASE[p.left][p.right] or "direct"
  -- hollow servers answer and map nothing: the mapped candidates are
  -- offered and fail, the path is what it is without them
  if p.fault == "hollow" then return base end
  -- a mapping on either side makes its mapped candidate reachable from
  -- the other, and the other's checks to it are the pair that works
  if maps(p.left_impl, p.portmap) or maps(p.right_impl, p.portmap) then return "direct" end
  return base
end

-- Each implementation's way to ask for port mappings.
local function portmap_args(p, impl)
  if impl:find("nice", 1, true) then
    return p.portmap:find("upnp", 1, true) and { "--upnp" } or {}
  end
  if impl ~= "natlab-ice" then return {} end
  return { "--portmap", p.client, "--portmap-lifetime", p.fault == "restart" and "8" or "120" }
end

-- The left agent's mapped candidate (srflx on the NAT's public address
-- with related address its host) against `upnpc -l` run on the left host.
local function oracle_list(net, side, res, want_gone)
  local upnpc = natlab.bin("upnpc")
  if not upnpc then return nil end
  local mapped
  for _, c in ipairs((res.candidates or {})[side] or {}) do
    local a, port = c:match(" udp %d+ ([%d%.]+) (%d+) typ srflx raddr")
    if a == net.addr[side .. "-nat"] and c:find("rport " .. port .. "$") then mapped = port end
  end
  natlab.observe("oracle_mapped_port", mapped)
  if not mapped then return "no mapped candidate of " .. side .. " to look for" end
  local p = net.nodes[side]:spawn({ upnpc, "-l" }, { name = "upnpc-list" })
  local seen, deadline = false, natlab.now_ms() + 15000
  while natlab.now_ms() < deadline do
    local l = p:line(deadline - natlab.now_ms())
    if not l then break end
    -- " 0 UDP 40196->10.1.0.2:40196 'PCP MAP ...' '' 118"
    if l:find("UDP%s+" .. mapped .. "%->" .. net.addr[side] .. ":" .. mapped) then seen = true end
  end
  if not p:wait(1000) then p:kill() end
  if want_gone then
    natlab.observe("oracle_upnpc_lists_it_after_stop", seen)
    if seen then return "upnpc -l still lists natlab-ice's mapping of port " .. mapped .. " after it stopped" end
    return nil
  end
  natlab.observe("oracle_upnpc_lists_it", seen)
  if not seen then return "upnpc -l does not list natlab-ice's mapping of port " .. mapped end
  return nil
end

scenario {
  name = "portmap",
  description = "ICE through NATs that offer port mapping (PCP, NAT-PMP, UPnP IGD)",
  params = {
    left = { kind = "nat_preset", description = "left NAT preset", default = "symmetric" },
    right = { kind = "nat_preset", description = "right NAT preset", default = "symmetric" },
    portmap = { description = "what both NATs serve: none, pcp, natpmp, upnp, pcp+upnp, natpmp+upnp", default = "pcp" },
    client = { description = "natlab-ice --portmap mode: auto, pcp, natpmp", default = "auto" },
    left_impl = { description = "left agent: natlab-ice (PCP/NAT-PMP) or nice (libnice, UPnP IGD)", default = "natlab-ice" },
    right_impl = { description = "right agent: natlab-ice (PCP/NAT-PMP) or nice (libnice, UPnP IGD)", default = "natlab-ice" },
    fault = { description = "none; restart: the right NAT's server restarts mid-session; " ..
              "hollow: both servers answer and map nothing", default = "none" },
    servers = { description = "STUN/TURN server implementation", default = "natlab" },
    timeout_ms = { description = "time allowed to select a pair", default = 10000 },
  },
  matrix = { left = { "port-restricted-cone", "symmetric" }, right = { "symmetric" },
             portmap = { "none", "pcp", "natpmp", "upnp", "pcp+upnp", "natpmp+upnp" } },
  grid = { name = "portmap: path class", rows = "portmap", cols = "left", split = { "right" } },
  expect = expected,
  timeout_ms = 40000,

  network = function(p)
    S.need_lab()
    local net = natlab.net()
    net:internet()
    local knobs = p.portmap ~= "none" and { portmap = p.portmap:gsub("%+", ","), portmap_min_lifetime_s = 4 } or nil
    S.side(net, "left", p.left, knobs)
    S.side(net, "right", p.right, knobs)
    if p.fault == "hollow" and knobs then
      natlab.portmap_fault(net, "left-nat", "hollow")
      natlab.portmap_fault(net, "right-nat", "hollow")
    end
    net.srv = S.servers(net, p)
    return net
  end,

  run = function(net, p, cell)
    local function args_of(impl)
      local args = { "--ta-ms", "10", "--rto-ms", "100", "--nominate-wait-ms", "300" }
      for _, w in ipairs(portmap_args(p, impl)) do args[#args + 1] = w end
      return args
    end
    -- no trickling: each description waits for the mappings (at most
    -- --portmap-wait-ms, 2 s), so the mapped candidates are in the first
    -- offer; trickled, they came 0.3-0.6 s after a relay pair had been
    -- selected on this loaded machine (a real race, not what is measured)
    local turn = S.turn_urls(net, "udp")
    local l = S.agent(net, "left", p.left_impl, { role = "controlling", name = "left", trickle = false,
                                                  turn = turn, args = args_of(p.left_impl) }, cell)
    local r = S.agent(net, "right", p.right_impl, { role = "controlled", name = "right", trickle = false,
                                                    turn = turn, args = args_of(p.right_impl) }, cell)
    local res = natlab.ice_connect(l, r, { trickle = false, timeout_ms = p.timeout_ms,
                                           names = { "left", "right" }, record = false })
    S.record_class(res, cell, { names = { "left", "right" } })
    if res.ok and p.left_impl == "natlab-ice" and p.portmap:find("+upnp", 1, true) then
      -- the independent oracle: upnpc lists the NAT's mappings (UPnP
      -- GetGenericPortMappingEntry sees every rule of miniupnpd's, PCP's
      -- and NAT-PMP's included); the one natlab-ice made must be there
      local why = oracle_list(net, "left", res)
      if why then natlab.result { outcome = "fail", message = why } end
    end
    if res.ok then
      local tw = S.two_way(l, r)
      natlab.observe("two_way", tw)
      if not tw.ok then
        natlab.result { outcome = "fail", message = string.format(
          "selected %s but no two-way data (left got %d/%d, right %d/%d)", res.path, tw.a_rx, tw.n, tw.b_rx, tw.n) }
      elseif p.fault == "restart" and p.portmap ~= "none" and p.right_impl == "natlab-ice" then
        -- RFC 6887 §8.5 tolerates 2 s of epoch drift: a server restarted
        -- right after it started loses too little epoch to be told from
        -- a running one. Let it run 6 s first, as a real one runs days.
        natlab.sleep_ms(6000)
        natlab.portmap_fault(net, "right-nat", "restart")
        -- the renewal at half the 8 s lifetime sees the new epoch and maps
        -- again; data must flow once that happened
        -- natlab-ice says so in its log lines ("port mapping lost",
        -- then "port mapping (...)" again)
        local lost, again = false, false
        local function drain()
          while true do
            local ev = r:event(50)
            if not ev then return end
            if ev.ev == "log" and type(ev.msg) == "string" then
              if ev.msg:find("port mapping lost", 1, true) then lost = true
              elseif lost and ev.msg:find("port mapping (", 1, true) then again = true end
            end
          end
        end
        local tw2
        local deadline = natlab.now_ms() + 12000
        repeat
          natlab.sleep_ms(500)
          drain()
        until again or natlab.now_ms() > deadline
        tw2 = S.two_way(l, r, { timeout_ms = 2000 })
        natlab.observe("remapped_after_restart", again)
        natlab.observe("two_way_after_restart", tw2)
        if not again then
          natlab.result { outcome = "fail", message = "natlab-ice did not notice the restart (epoch) and map again" }
        elseif not tw2.ok then
          natlab.result { outcome = "fail", message = "no two-way data after the right NAT's mapping server restarted" }
        end
      end
    end
    S.stop({ l, r })
    if res.ok and p.left_impl == "natlab-ice" and p.portmap:find("+upnp", 1, true) then
      -- natlab-ice deletes its mappings when it stops (PCP lifetime 0)
      local why = oracle_list(net, "left", res, true)
      if why then natlab.result { outcome = "fail", message = why } end
    end
  end,
}
