-- 10_net.lua - topology helpers over the thin C binding: an internet core,
-- public hosts, NATs (also behind NATs) and hosts on LANs behind them, with
-- addresses and routes allocated for the scenario.
--
-- Address plan (documentation and private ranges only, RFC 5737/1918/3849):
--   link k to the internet core: 203.0.113.(4k+1)/30 (core), .(4k+2)/30
--     and with ipv6: 2001:db8:ffff:k::1/64 (core), ::2
--   LAN j behind a router/NAT: bridge "lan" in the router, 10.j.0.1/24,
--     hosts 10.j.0.2, .3, ...; with ipv6 2001:db8:j::1/64, hosts ::2, ...
--   IPv6 is routed, not translated (emu/nat.h): routes to each LAN prefix
--   are added on every router up to the core.

local Net = {}
Net.__index = Net

-- natlab.net([{ipv6 = true}]): a new, empty topology. net.addr[name] is
-- each node's main IPv4 address once attached, net.addr6[name] its IPv6.
function natlab.net(opts)
  opts = opts or {}
  return setmetatable({ nodes = {}, addr = {}, addr6 = {}, links = 0, lans = 0, core = nil, ifs = {},
                        ipv6 = opts.ipv6 or false, up = {}, iface = {} }, Net)
end

local function ifname(net, node_name, prefix)
  local key = node_name .. "/" .. (prefix or "eth")
  net.ifs[key] = (net.ifs[key] or 0) + 1
  return (prefix or "eth") .. (net.ifs[key] - 1)
end

-- net:node(name): a node of this topology (IPv6 DAD off so addresses are
-- usable at once).
function Net:node(name)
  local n = natlab.node(name)
  self.nodes[name] = n
  if self.ipv6 then
    n:sysctl("net/ipv6/conf/all/accept_dad", "0")
    n:sysctl("net/ipv6/conf/default/accept_dad", "0")
  end
  return n
end

-- net:internet(): the internet core router (node "internet").
function Net:internet()
  if self.core then return self.core end
  self.core = self:node("internet")
  self.core:forwarding(true)
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
  if self.ipv6 then
    core:addr(cif, string.format("2001:db8:ffff:%x::1/64", k))
    node:addr(nif, string.format("2001:db8:ffff:%x::2/64", k))
    node:route("default6", string.format("2001:db8:ffff:%x::1", k))
    self.addr6[node:name()] = string.format("2001:db8:ffff:%x::2", k)
    self.up[node:name()] = { node = core, via6 = self.addr6[node:name()] }
  end
  self.iface[node:name()] = nif
  return string.format("203.0.113.%d", base + 2), nif
end

-- net:public_host(name): a host with a public address on the internet.
function Net:public_host(name)
  local n = self:node(name)
  self.addr[name] = self:_uplink(n)
  return n
end

-- net:nat(name, cfg, behind): a NAT router. @cfg is a preset name or a
-- table of knobs for node:nat ({preset=..., mapping=..., ...}). Its outside
-- is on the internet, or on the LAN of NAT @behind (NAT behind NAT).
function Net:nat(name, cfg, behind)
  local n = self:node(name)
  local outside_addr, outside_if
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
  -- portmap (45_portmap.lua): miniupnpd maps nothing behind a
  -- special-purpose external address, so a NAT on the internet gets one
  -- from natlab.PORTMAP_PUBLIC, routed by the core; behind another NAT it
  -- keeps its private one (and its server refuses to map, as real ones do)
  local ok, pm = pcall(natlab.portmap_protocols, knobs.portmap)
  if not ok then error((tostring(pm):gsub("^prelude/[%w_]+%.lua:%d+: ", "")), 2) end
  local public_ok = false
  if #pm > 0 and not behind then
    local k = self.links
    local a = string.format(natlab.PORTMAP_PUBLIC, k)
    n:addr(outside_if, a .. "/32")
    self.core:route(a .. "/32", outside_addr)
    outside_addr, public_ok = a, true
  end
  c.public = { outside_addr }
  -- a bad preset or knob is the scenario's mistake: report it at the
  -- scenario's line (level 2), not at this one
  local err
  ok, err = pcall(n.nat, n, c)
  if not ok then error((tostring(err):gsub("^prelude/[%w_]+%.lua:%d+: ", "")), 2) end
  self.addr[name] = outside_addr
  if #pm > 0 then
    natlab._portmap_setup(self, name, knobs, outside_if, outside_addr, public_ok)
    self:_lan(n) -- miniupnpd listens on the LAN bridge: make it now
    natlab.portmap_start(self, name)
  end
  return n
end

-- net:router(name[, behind]): a plain router (no NAT) with a LAN.
function Net:router(name, behind)
  local n = self:node(name)
  if behind then
    self.addr[name] = self:_lan_attach(behind, n)
  else
    self.addr[name] = self:_uplink(n)
  end
  n:forwarding(true)
  return n
end

-- IPv6 is routed: every router from @router up to the core learns the way
-- to @prefix.
function Net:_route6_up(router, prefix)
  local up = self.up[router:name()]
  while up do
    up.node:route(prefix, up.via6)
    up = self.up[up.node:name()]
  end
end

-- The LAN of @router (made on first use: a bridge "lan" in the router,
-- 10.j.0.1/24): the record {j, next}.
function Net:_lan(router)
  local rname = router:name()
  self.lan = self.lan or {}
  local lan = self.lan[rname]
  if not lan then
    self.lans = self.lans + 1
    lan = { j = self.lans, next = 2 }
    self.lan[rname] = lan
    router:bridge("lan")
    router:addr("lan", string.format("10.%d.0.1/24", lan.j))
    if self.ipv6 then
      router:addr("lan", string.format("2001:db8:%x::1/64", lan.j))
      self:_route6_up(router, string.format("2001:db8:%x::/64", lan.j))
    end
  end
  return lan
end

-- A port on the LAN of @router linked to a new interface of @node, no
-- address yet. Returns the node's interface and its addresses: { nif, a,
-- gw[, a6, gw6] }.
function Net:_lan_port(router, node)
  local rname = router:name()
  local lan = self:_lan(router)
  local k = lan.next
  if k > 254 then error("net: at most 253 hosts on one LAN", 3) end
  lan.next = k + 1
  local rif, nif = ifname(self, rname, "lan"), ifname(self, node:name())
  natlab.link(router, rif, node, nif)
  router:bridge_attach("lan", rif)
  local port = { nif = nif, a = string.format("10.%d.0.%d", lan.j, k),
                 gw = string.format("10.%d.0.1", lan.j) }
  if self.ipv6 then
    port.a6 = string.format("2001:db8:%x::%x", lan.j, k)
    port.gw6 = string.format("2001:db8:%x::1", lan.j)
  end
  return port
end

-- Attach @node to the LAN of @router; returns (address, ifname). @fam
-- ({ipv4=, ipv6=}, both default on) leaves a family's address and default
-- route off the node (the address returned is then nil).
function Net:_lan_attach(router, node, fam)
  fam = fam or {}
  local port = self:_lan_port(router, node)
  if fam.ipv4 == false then
    port.a = nil
  else
    node:addr(port.nif, port.a .. "/24")
    node:route("default", port.gw)
  end
  if self.ipv6 and fam.ipv6 ~= false then
    node:addr(port.nif, port.a6 .. "/64")
    node:route("default6", port.gw6)
    self.addr6[node:name()] = port.a6
    self.up[node:name()] = { node = router, via6 = port.a6 }
  end
  self.iface[node:name()] = port.nif
  return port.a, port.nif
end

-- net:roam(node, behind): host @node (a node or its name) moves to the LAN
-- of router or NAT @behind, in one fault: a new interface is cabled to
-- that LAN, then node:roam takes the interface it had down and gives the
-- new one its address and default route (events iface-down and roam, and
-- with ipv6 a second roam). net.addr/addr6 follow. Returns the new address.
function Net:roam(node, behind)
  if type(node) == "string" then node = self.nodes[node] end
  if not node then error("net:roam: no such node", 2) end
  local name = node:name()
  local port = self:_lan_port(behind, node)
  node:roam { ifname = port.nif, new = port.a .. "/24", gateway = port.gw, leave = self.iface[name] }
  if self.ipv6 then
    node:roam { ifname = port.nif, new = port.a6 .. "/64", gateway = port.gw6 }
    self.addr6[name] = port.a6
    self.up[name] = { node = behind, via6 = port.a6 }
  end
  self.addr[name] = port.a
  self.iface[name] = port.nif
  return port.a
end

-- net:host(name, behind[, {ipv4=, ipv6=}]): a host on the LAN of NAT or
-- router @behind (several hosts share one LAN). ipv4 = false makes an
-- IPv6-only host (no IPv4 address at all, net.addr[name] nil); ipv6 =
-- false an IPv4-only one in an IPv6 net.
function Net:host(name, behind, fam)
  local n = self:node(name)
  self.addr[name] = self:_lan_attach(behind, n, fam)
  return n
end

-- Servers (natlab.server) are started by 40_impls.lua.
