-- 10_net.lua - topology helpers over the thin C binding: an internet core,
-- public hosts, NATs (also behind NATs) and hosts on LANs behind them, with
-- addresses and routes allocated for the scenario.
--
-- Address plan (documentation and private ranges only, RFC 5737/1918/6598):
--   link k to the internet core: 203.0.113.(4k+1)/30 (core), .(4k+2)/30
--   LAN j behind a NAT: 10.j.0.1/24 (NAT), hosts 10.j.0.2, .3, ...
--   (each host on a LAN gets its own veth to the NAT: there is no bridge)

local Net = {}
Net.__index = Net

-- natlab.net(): a new, empty topology. net.addr[name] is each node's main
-- address once it is attached.
function natlab.net()
  return setmetatable({ nodes = {}, addr = {}, links = 0, lans = 0, core = nil, ifs = {} }, Net)
end

local function ifname(net, node_name)
  net.ifs[node_name] = (net.ifs[node_name] or 0) + 1
  return "eth" .. (net.ifs[node_name] - 1)
end

-- net:internet(): the internet core router (node "internet").
function Net:internet()
  if self.core then return self.core end
  self.core = natlab.node("internet")
  self.core:forwarding(true)
  self.nodes.internet = self.core
  return self.core
end

-- Attach @node to the core over a fresh /30; returns (address, ifname).
function Net:_uplink(node)
  local core = self:internet()
  local k = self.links
  if k >= 63 then error("net: at most 63 links to the internet core", 2) end
  self.links = k + 1
  local cif, nif = ifname(self, "internet"), ifname(self, node:name())
  natlab.link(core, cif, node, nif)
  local base = 4 * k
  core:addr(cif, string.format("203.0.113.%d/30", base + 1))
  node:addr(nif, string.format("203.0.113.%d/30", base + 2))
  node:route("default", string.format("203.0.113.%d", base + 1))
  return string.format("203.0.113.%d", base + 2), nif
end

-- net:public_host(name): a host with a public address on the internet.
function Net:public_host(name)
  local n = natlab.node(name)
  self.nodes[name] = n
  self.addr[name] = self:_uplink(n)
  return n
end

-- net:nat(name, cfg, behind): a NAT router. @cfg is a preset name or a
-- table of knobs for node:nat ({preset=..., mapping=..., ...}). Its outside
-- is on the internet, or on a LAN of NAT @behind (NAT behind NAT).
function Net:nat(name, cfg, behind)
  local n = natlab.node(name)
  local outside_addr, outside_if
  self.nodes[name] = n
  if behind then
    outside_addr, outside_if = self:_lan_attach(behind, n)
  else
    outside_addr, outside_if = self:_uplink(n)
  end
  n:forwarding(true)
  local knobs = type(cfg) == "table" and cfg or { preset = cfg }
  local c = {}
  for k, v in pairs(knobs) do c[k] = v end
  c.outside = outside_if
  c.public = { outside_addr }
  n:nat(c)
  self.addr[name] = outside_addr
  return n
end

-- Attach @node to a LAN of router @router; returns (address, ifname).
function Net:_lan_attach(router, node)
  local r = router.lan
  if not r then
    self.lans = self.lans + 1
    r = { j = self.lans, next = 2 }
    router.lan = r
  end
  local host = r.next
  r.next = host + 1
  local rif, nif = ifname(self, router.node:name()), ifname(self, node:name())
  natlab.link(router.node, rif, node, nif)
  -- one /30-like /24 per veth would waste nothing here: each veth gets its
  -- own /24 subnet of 10.j.0.0/16 so routes stay trivial.
  local gw = string.format("10.%d.%d.1", r.j, host)
  router.node:addr(rif, gw .. "/24")
  local a = string.format("10.%d.%d.2", r.j, host)
  node:addr(nif, a .. "/24")
  node:route("default", gw)
  return a, nif
end

-- net:host(name, behind): a host on a LAN behind NAT (or router) @behind,
-- given as the node returned by net:nat.
function Net:host(name, behind)
  local n = natlab.node(name)
  self.nodes[name] = n
  if not self.routers then self.routers = {} end
  local key = behind:name()
  self.routers[key] = self.routers[key] or { node = behind }
  self.addr[name] = self:_lan_attach(self.routers[key], n)
  return n
end

-- Built-in servers by name. natlab.server(node, "stun"[, opts]) starts the
-- server in @node and waits for its "ready" event; returns the process.
local servers = {
  stun = function(addr, o)
    return { "natlab-stun-server", "--addr", addr, "--port", tostring(o.port or 3478) }
  end,
  turn = function(addr, o)
    return { "natlab-turn-server", "--addr", addr, "--port", tostring(o.port or 3478),
             "--user", o.user or "natlab:natlab" }
  end,
}

function natlab.server(net, node_name, kind, opts)
  opts = opts or {}
  local mk = servers[kind]
  if not mk then error("natlab.server: unknown server '" .. tostring(kind) .. "' (stun, turn)", 2) end
  local argv = mk(net.addr[node_name], opts)
  local bin = natlab.bin(argv[1])
  if not bin then return nil, argv[1] .. " not found next to natlab or in PATH" end
  argv[1] = bin
  local p = net.nodes[node_name]:spawn(argv, { name = kind .. "-" .. node_name })
  local deadline = natlab.now_ms() + (opts.ready_ms or 5000)
  while natlab.now_ms() < deadline do
    local ev, why = p:event(deadline - natlab.now_ms())
    if not ev then return nil, argv[1] .. " sent no ready event (" .. tostring(why) .. ")" end
    if ev.ev == "ready" then return p end
  end
  return nil, argv[1] .. " not ready in time"
end
