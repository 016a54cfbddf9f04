-- portmap-oracle.lua - the NAT knob `portmap` checked with independent
-- clients (docs/nat-model.md "Port mapping"): Debian's upnpc (miniupnpc,
-- UPnP IGD) and natpmpc (NAT-PMP) ask the NAT's miniupnpd for a mapping of
-- UDP port 5000 of a host behind it; a public host then sends to the
-- mapped public address and port, and the host must get the datagram,
-- whatever the NAT's filtering. Port 5001 of the same host is not mapped:
-- the host sends from it to a reflector first (a NAT mapping of its own),
-- then a second public host sends to that mapping, which gets in only
-- where the preset's filtering is endpoint-independent (full-cone).
-- With lease_s > 0 the mapping is asked for that many seconds and must be
-- gone (nothing gets in, no rule left) after it expired.
--
--   natlab run portmap-oracle
--   natlab run portmap-oracle -p nat=symmetric -p client=natpmpc -p lease_s=3
natlab.scen.use_dir()
local S = natlab.scen

-- A UDP tool run inside lab nodes: `recv PORT...` prints each datagram as a
-- JSON line {port, from, data} ("ready" first); `send ADDR PORT DATA
-- [SRCPORT]` sends one (a line `ADDR PORT DATA` on recv's stdin sends from its last port); `reflect PORT` answers each datagram with the
-- address and port it came from.
local UDP = [[
import json, select, socket, sys
def out(d):
    print(json.dumps(d), flush=True)
cmd = sys.argv[1]
if cmd == "recv":
    ss = []
    for p in sys.argv[2:]:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(p)))
        ss.append(s)
    out({"ev": "ready"})
    while True:
        r, _, _ = select.select(ss + [sys.stdin], [], [])
        for s in r:
            if s is sys.stdin:
                line = sys.stdin.readline()
                if not line:
                    sys.exit(0)
                a, p, d = line.split()
                ss[-1].sendto(d.encode(), (a, int(p)))
                continue
            d, a = s.recvfrom(2048)
            out({"ev": "rx", "port": s.getsockname()[1], "from": "%s:%d" % a, "data": d.decode()})
elif cmd == "send":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if len(sys.argv) > 5:
        s.bind(("0.0.0.0", int(sys.argv[5])))
    s.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))
elif cmd == "reflect":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sys.argv[2])))
    out({"ev": "ready"})
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(("%s:%d" % a).encode(), a)
]]

local function udp(node, args, name)
  local argv = { "/usr/bin/python3", "-c", UDP }
  for _, a in ipairs(args) do argv[#argv + 1] = tostring(a) end
  return node:spawn(argv, { name = name })
end

-- Runs a program to its end; its stdout lines.
local function run_lines(node, argv, name, ms)
  local p = node:spawn(argv, { name = name })
  local lines, deadline = {}, natlab.now_ms() + (ms or 15000)
  while natlab.now_ms() < deadline do
    local l = p:line(deadline - natlab.now_ms())
    if not l then break end
    lines[#lines + 1] = l
  end
  if not p:wait(1000) then p:kill() end
  return lines
end

-- The next rx event of @p on @port with @data within @ms, or nil.
local function got(p, port, data, ms)
  local deadline = natlab.now_ms() + ms
  while natlab.now_ms() < deadline do
    local ev = p:event(deadline - natlab.now_ms())
    if not ev then return nil end
    if ev.ev == "rx" and ev.port == port and ev.data == data then return ev end
  end
  return nil
end

-- Sends @data from @node to @addr:@port every 200 ms until @p has it (or @ms).
local function reaches(net, from, addr, port, p, inport, data, ms)
  local deadline = natlab.now_ms() + ms
  repeat
    local s = udp(net.nodes[from], { "send", addr, port, data }, "send-" .. from)
    s:wait(2000)
    if got(p, inport, data, 200) then return true end
  until natlab.now_ms() >= deadline
  return false
end

local ORACLE = { upnpc = "upnp", natpmpc = "natpmp" }

-- Asks for a mapping of UDP @port for @lease_s (0: the client's default)
-- with @client; returns "addr:port" of the public side, or nil and the
-- client's output.
local function map(net, client, nat, port, lease_s, ms)
  local host = net.nodes.client
  if client == "natpmpc" then
    local l = run_lines(host, { natlab.bin("natpmpc"), "-g", net.gw.client, "-a", port, port, "udp",
                                lease_s > 0 and lease_s or 3600 }, "natpmpc", ms)
    local txt = table.concat(l, "\n")
    local pub = txt:match("Public IP address : ([%d%.]+)")
    local mp = txt:match("Mapped public port (%d+) protocol UDP")
    return pub and mp and (pub .. ":" .. mp) or nil, txt
  end
  local argv = { natlab.bin("upnpc"), "-e", "natlab", "-r", port, "UDP" }
  if lease_s > 0 then argv[#argv + 1] = lease_s end
  local l = run_lines(host, argv, "upnpc", ms)
  local txt = table.concat(l, "\n")
  local pub, mp = txt:match("external ([%d%.]+):(%d+) UDP is redirected")
  return pub and (pub .. ":" .. mp) or nil, txt
end

local EIF = { ["full-cone"] = true }

-- The fault checks (param fault); a problem's text or nil.
local function oracle_fault(net, p, pa, pp, rx, map_fn)
  if p.fault == "restart" then
    natlab.portmap_fault(net, "nat", "restart")
    if reaches(net, "peer", pa, pp, rx, 5000, "r1", 1500) then
      return "the mapping survived a server restart (RFC 6887 §8.5: mappings lost)"
    end
    local again = map_fn(net, p.client, "nat", 5000, 0)
    natlab.observe("mapped_after_restart", again)
    if not again then return "no mapping from the restarted server" end
    local a2, p2 = again:match("^(.*):(%d+)$")
    if not reaches(net, "peer", a2, p2, rx, 5000, "r2", 3000) then
      return "the mapping made after the restart does not let datagrams in"
    end
  elseif p.fault == "hollow" then
    natlab.portmap_fault(net, "nat", "hollow")
    local m = map_fn(net, p.client, "nat", 5002, 0)
    natlab.observe("mapped_hollow", m)
    if not m then return "the hollow server did not answer" end
    local a2, p2 = m:match("^(.*):(%d+)$")
    local rx2 = rx
    if reaches(net, "peer", a2, p2, rx2, 5002, "h1", 1500) then
      return "a hollow server's mapping let a datagram in"
    end
    natlab.portmap_fault(net, "nat", "restore")
    if not reaches(net, "peer", pa, pp, rx, 5000, "h2", 3000) then
      return "after restore the first mapping does not let datagrams in"
    end
  elseif p.fault == "stop" then
    natlab.portmap_fault(net, "nat", "stop")
    -- natpmpc retries for about a minute (RFC 6886 §3.1): 4 s tell
    local m = map_fn(net, p.client, "nat", 5002, 0, 4000)
    natlab.observe("mapped_stopped", m)
    if m then return "a stopped server still answered: " .. m end
    if not reaches(net, "peer", pa, pp, rx, 5000, "s1", 3000) then
      return "the mapping made before the stop no longer lets datagrams in"
    end
  else
    error("portmap-oracle: fault must be none, restart, hollow or stop, not " .. tostring(p.fault), 0)
  end
  return nil
end

scenario {
  name = "portmap-oracle",
  description = "UPnP IGD and NAT-PMP mappings on the lab's NATs, seen by upnpc and natpmpc",
  params = {
    nat = { kind = "nat_preset", description = "NAT preset (knob portmap on)", default = "port-restricted-cone" },
    client = { description = "independent client: upnpc (UPnP IGD) or natpmpc (NAT-PMP)", default = "natpmpc" },
    lease_s = { description = "lease asked for (0: none); > 0 also checks its expiry", default = 0 },
    fault = { description = "none, restart (the mapping must be lost, then made again), " ..
              "hollow (the server answers, nothing gets in; restore: it does), " ..
              "stop (no answer; the mapping made before still works)", default = "none" },
  },
  matrix = { nat = { "full-cone", "port-restricted-cone", "symmetric" }, client = { "upnpc", "natpmpc" } },
  grid = { name = "portmap: mapped port reachable (upnpc / natpmpc)", rows = "nat", cols = "client" },
  timeout_ms = 40000,

  network = function(p)
    S.need_lab()
    local proto = ORACLE[p.client]
    if not proto then error("portmap-oracle: client must be upnpc or natpmpc, not " .. tostring(p.client), 0) end
    if not natlab.bin(p.client) then
      natlab.skip(p.client .. " is not installed (scripts/install-deps --portmap)")
    end
    local net = natlab.net()
    net:internet()
    net:public_host("peer")
    net:public_host("reflector")
    local nat = net:nat("nat", { preset = p.nat, portmap = { proto }, portmap_min_lifetime_s = 1 })
    net:host("client", nat)
    net.gw = { client = string.format("10.%d.0.1", net.lan.nat.j) }
    return net
  end,

  run = function(net, p)
    local lease = tonumber(p.lease_s) or 0
    local rx = udp(net.nodes.client, { "recv", 5000, 5002, 5001 }, "client-udp")
    assert(natlab.ready(rx, 5000), "receiver did not start")
    local refl = udp(net.nodes.reflector, { "reflect", 7000 }, "reflector")
    assert(natlab.ready(refl, 5000), "reflector did not start")
    local mapped, txt = map(net, p.client, "nat", 5000, lease)
    natlab.observe("client_output", txt)
    if not mapped then
      natlab.result { outcome = "fail", message = p.client .. " got no mapping: " .. txt:sub(-300) }
      return
    end
    natlab.observe("mapped", mapped)
    local pa, pp = mapped:match("^(.*):(%d+)$")
    local problems = {}
    if pa ~= net.addr.nat then
      problems[#problems + 1] = "mapped address " .. pa .. " is not the NAT's " .. net.addr.nat
    end
    local ok_mapped = reaches(net, "peer", pa, pp, rx, 5000, "m1", 3000)
    natlab.observe("mapped_reached", ok_mapped)
    if not ok_mapped then problems[#problems + 1] = "a datagram to the mapped " .. mapped .. " did not arrive" end
    -- the unmapped port: a NAT mapping toward the reflector only
    rx:send(net.addr.reflector .. " 7000 hello")
    local own
    local deadline = natlab.now_ms() + 3000
    while not own and natlab.now_ms() < deadline do
      local ev = rx:event(500)
      if ev and ev.ev == "rx" and ev.from == net.addr.reflector .. ":7000" then own = ev.data end
      if not own then rx:send(net.addr.reflector .. " 7000 hello") end
    end
    natlab.observe("unmapped_mapping", own)
    if own then
      local oa, op = own:match("^(.*):(%d+)$")
      local passed = reaches(net, "peer", oa, op, rx, 5001, "u1", 1500)
      natlab.observe("unmapped_reached", passed)
      if passed ~= (EIF[p.nat] == true) then
        problems[#problems + 1] = string.format("unsolicited datagram to the NAT's own mapping %s %s (filtering says %s)",
          own, passed and "arrived" or "was dropped", EIF[p.nat] and "pass" or "drop")
      end
    else
      problems[#problems + 1] = "the reflector's answer never came back"
    end
    if p.fault ~= "none" then
      local why = oracle_fault(net, p, pa, pp, rx, map)
      if why then problems[#problems + 1] = why end
    end
    if lease > 0 then
      natlab.sleep_ms((lease + 2) * 1000)
      local late = reaches(net, "peer", pa, pp, rx, 5000, "late", 1500)
      natlab.observe("after_expiry_reached", late)
      if late then problems[#problems + 1] = "the mapping still lets datagrams in after its " .. lease .. " s lease" end
    end
    if #problems > 0 then
      natlab.result { outcome = "fail", message = table.concat(problems, "; ") }
    else
      natlab.result { outcome = "pass", message = p.client .. " mapped " .. mapped .. ": reachable; unmapped port filtered as " .. p.nat }
    end
  end,
}
