-- dual-stack.lua - IPv4+IPv6, IPv6-only and IPv4-only peers, every pair.
--
-- Two hosts, each behind its own NAT (port-restricted-cone by default). The
-- lab is dual-stack: natlab NATs translate IPv4 and only firewall IPv6 (no
-- NAT66; flows opened from outside are dropped, docs/nat-model.md), so over
-- IPv6 two hosts meet with their own (host) addresses once both have sent,
-- while over IPv4 they meet through their server-reflexive ones. Each side
-- has one of three stacks:
--   dual     an IPv4 and an IPv6 address; STUN on both families, TURN over
--            IPv4
--   v6-only  an IPv6 address and no IPv4 address or route at all; STUN and
--            TURN over IPv6
--   v4-only  an IPv4 address and no IPv6 one; STUN and TURN over IPv4
-- The STUN and TURN servers are dual-stack public hosts (`servers` = natlab:
-- natlab-stun-server and natlab-turn-server, or coturn: turnserver, on both
-- families, relaying on both). The agents run with --turn-dual (turn_dual
-- = true): each also asks its TURN server for a relay of the family it does
-- not reach the server over (RFC 6156 REQUESTED-ADDRESS-FAMILY).
--
-- Expected, from the families two sides share (EXPECT below):
--   a shared IPv6 stack (dual/v6-only x dual/v6-only): direct, IPv6 host
--     pair (host candidates have the highest type preference, RFC 8445
--     §5.1.2.2, and the firewall lets a pair in once both sides sent);
--   only IPv4 shared (anything x v4-only, but v6-only): direct, IPv4 srflx;
--   v6-only x v4-only: no family in common, no direct pair can exist (ICE
--     pairs candidates of one family, RFC 8445 §6.1.2.2). A relay across
--     families saves the call: the v6-only side's IPv4 relay (allocated
--     over IPv6) pairs with the v4-only side's IPv4 candidates, or the
--     v4-only side's IPv6 relay with the v6-only side's IPv6 ones: class
--     relay. With turn_dual = false no relay of the other family exists
--     and the cell is expected to fail.
-- Every cell that connects must carry data both ways (4 datagrams each
-- way, at least one must arrive on each side), and is judged on the path
-- the lab saw the data take on the wire (IPv4 and IPv6 flows counted at
-- each NAT's outside and at the TURN server; a claim the wire contradicts
-- fails the cell). Observations: family (of
-- the selected pair), left_pair/right_pair (local->remote candidate types)
-- and, on a relayed pair, relay (whose relay, its family, and the family
-- its owner reached the TURN server over: "right's ipv6 relay, allocated
-- over ipv4" is a relay across families).
--
--   natlab run dual-stack
--   natlab run dual-stack -p left=v6-only -p right=v4-only -p servers=coturn
natlab.scen.use_dir()
local S = natlab.scen

local STACKS = { "dual", "v6-only", "v4-only" }
local HAS = { dual = { v4 = true, v6 = true }, ["v6-only"] = { v6 = true }, ["v4-only"] = { v4 = true } }

-- the expected class and family of a pair of stacks
local function EXPECT(a, b, turn_dual)
  if HAS[a].v6 and HAS[b].v6 then return "direct", "ipv6" end
  if HAS[a].v4 and HAS[b].v4 then return "direct", "ipv4" end
  if turn_dual then return "relay", nil end
  return "failed", nil
end

local function bracket(a) return a:find(":") and "[" .. a .. "]" or a end

-- Starts one server program on @node and waits until it answers: natlab's
-- servers print a ready event; coturn answers a Binding on @probe (v4).
local function start(node, argv, name, coturn, probe)
  if not coturn then
    local p = node:spawn(argv, { name = name })
    local ready, why = natlab.ready(p, 5000)
    if not ready then error(name .. " sent " .. why, 0) end
    return p
  end
  -- coturn's log goes to stdout: sh puts it on stderr, the cell's log
  local sh = { "/bin/sh", "-c", 'exec "$@" >&2', "coturn" }
  for _, w in ipairs(argv) do sh[#sh + 1] = w end
  local p = node:spawn(sh, { name = name, stdio = "null" })
  local deadline = natlab.now_ms() + 5000
  repeat
    local ok = node:stun_binding(probe, 3478, 200)
    if ok then return p end
    if p:wait(0) then error(name .. ": coturn's turnserver exited at start (see its log)", 0) end
  until natlab.now_ms() >= deadline
  p:kill()
  error(name .. ": coturn did not answer a Binding in time", 0)
end

-- STUN and TURN on both families of the public hosts "stun" and "turn".
local function servers(net, kind)
  for _, h in ipairs({ "stun", "turn" }) do net:public_host(h) end
  local a4, a6 = net.addr.stun, net.addr6.stun
  local t4, t6 = net.addr.turn, net.addr6.turn
  if kind == "natlab" then
    local sb, tb = natlab.bin("natlab-stun-server"), natlab.bin("natlab-turn-server")
    if not sb or not tb then natlab.skip("natlab-stun-server / natlab-turn-server are not built") end
    start(net.nodes.stun, { sb, "--addr", a4, "--port", "3478" }, "stun-server4")
    start(net.nodes.stun, { sb, "--addr", a6, "--port", "3478" }, "stun-server6")
    -- one listener per family: natlab-turn-server relays on each listening
    -- address's family and answers REQUESTED-ADDRESS-FAMILY (RFC 6156)
    return start(net.nodes.turn, { tb, "--listen", t4 .. ":3478", "--listen", "[" .. t6 .. "]:3478",
                                   "--user", "natlab:natlab", "--realm", "natlab" }, "turn-server")
  elseif kind == "coturn" then
    local tb = natlab.bin("turnserver")
    if not tb then natlab.skip("coturn is not installed (apt-get install coturn)") end
    local common = { tb, "-n", "--no-cli", "--no-dtls", "--no-tls", "--log-file", "stdout", "--simple-log",
                     "--pidfile", "/dev/null", "--userdb", ":memory:", "--no-rfc5780", "--listening-port", "3478" }
    local function argv(a, b, extra)
      local v = {}
      for _, w in ipairs(common) do v[#v + 1] = w end
      for _, w in ipairs({ "--listening-ip", a, "--listening-ip", b, "--relay-ip", a, "--relay-ip", b }) do
        v[#v + 1] = w
      end
      for _, w in ipairs(extra) do v[#v + 1] = w end
      return v
    end
    start(net.nodes.stun, argv(a4, a6, { "--stun-only" }), "stun-coturn", true, a4)
    return start(net.nodes.turn, argv(t4, t6, { "--lt-cred-mech", "--user", "natlab:natlab", "--realm", "natlab" }),
                 "turn-coturn", true, t4)
  end
  error("dual-stack: unknown servers '" .. tostring(kind) .. "' (natlab, coturn)", 0)
end

scenario {
  name = "dual-stack",
  description = "dual-stack, IPv6-only and IPv4-only peers in every pair; no shared family -> a TURN relay across families",
  params = {
    left = { description = "left host's stack: dual, v6-only or v4-only", default = "dual" },
    right = { description = "right host's stack: dual, v6-only or v4-only", default = "dual" },
    nat = { kind = "nat_preset", description = "NAT preset on both sides", default = "port-restricted-cone" },
    turn_dual = { description = "agents also allocate a relay of the other family (natlab-ice --turn-dual)", default = true },
    left_impl = { description = "left ICE agent program", default = "natlab-ice" },
    right_impl = { description = "right ICE agent program", default = "natlab-ice" },
    servers = { description = "STUN/TURN server implementation (natlab, coturn)", default = "natlab" },
    wire = { description = "judge the path on the wire (false: claims only)", default = true },
  },
  matrix = { left = STACKS, right = STACKS },
  grid = { name = "dual-stack: path between stacks", rows = "left", cols = "right" },
  expect = function(p) return (EXPECT(p.left, p.right, p.turn_dual)) end,
  timeout_ms = 30000,

  network = function(p)
    S.need_lab()
    for _, s in ipairs({ p.left, p.right }) do
      if not HAS[s] then error("dual-stack: unknown stack '" .. tostring(s) .. "' (dual, v6-only, v4-only)", 0) end
    end
    local net = natlab.net { ipv6 = true }
    net:internet()
    for _, side in ipairs({ "left", "right" }) do
      local st = HAS[p[side]]
      net:host(side, net:nat(side .. "-nat", { preset = p.nat }), { ipv4 = st.v4 == true, ipv6 = st.v6 == true })
    end
    net.turn_srv = servers(net, p.servers)
    net.wire = S.watch(net, { "left", "right" }, p, { ipv6 = true })
    return net
  end,

  run = function(net, p, cell)
    local base = { "--ta-ms", "10", "--rto-ms", "100", "--nominate-wait-ms", "300" }
    local function agent(side, role)
      local st = HAS[p[side]]
      local stun, turn = {}, {}
      if st.v4 then stun[#stun + 1] = net.addr.stun .. ":3478" end
      if st.v6 then stun[#stun + 1] = bracket(net.addr6.stun) .. ":3478" end
      -- TURN over IPv4 when the host has it, else over IPv6
      turn[1] = "udp:" .. (st.v4 and net.addr.turn or bracket(net.addr6.turn)) .. ":3478"
      local args = {}
      for _, w in ipairs(base) do args[#args + 1] = w end
      if p.turn_dual then args[#args + 1] = "--turn-dual" end
      return S.agent(net, side, p[side .. "_impl"], { role = role, name = side, stun = stun, turn = turn,
                                                      trickle = true, args = args, gather_timeout_ms = 1000 }, cell)
    end
    local l, r = agent("left", "controlling"), agent("right", "controlled")
    local res = natlab.ice_connect(l, r, { trickle = true, timeout_ms = 10000, names = { "left", "right" },
                                           record = false })
    if not res.ok then
      natlab.result { path = "failed", message = res.reason }
      S.stop({ l, r })
      return
    end
    local sel = res.selected.left
    local addr = sel and sel.remote and sel.remote.address or ""
    local fam = addr:find(":") and "ipv6" or "ipv4"
    natlab.observe("family", fam)
    for _, side in ipairs({ "left", "right" }) do
      local s = res.selected[side]
      if s and s["local"] and s.remote then
        natlab.observe(side .. "_pair", s["local"].type .. "->" .. s.remote.type)
        if s["local"].type == "relay" then
          -- which relay carried the call, and over which family its
          -- owner reached the TURN server
          local rf = (s["local"].address or ""):find(":") and "ipv6" or "ipv4"
          natlab.observe("relay", string.format("%s's %s relay, allocated over %s", side, rf,
                                                HAS[p[side]].v4 and "ipv4" or "ipv6"))
        end
      end
    end
    local tw = S.data_phase(net, l, r, res, cell, { names = { "left", "right" } })
    natlab.observe("two_way", tw)
    local _, want_fam = EXPECT(p.left, p.right, p.turn_dual)
    if not tw.ok then
      natlab.result { outcome = "fail", message = string.format("no two-way data over the selected pair (left got %d/%d, right %d/%d)",
                                                                tw.a_rx, tw.n, tw.b_rx, tw.n) }
    elseif want_fam and fam ~= want_fam and S.class(res.path) == "direct" then
      natlab.result { outcome = "fail", message = "selected an " .. fam .. " pair, expected " .. want_fam }
    end
    S.stop({ l, r })
  end,
}
