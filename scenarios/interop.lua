-- interop.lua - implementation x implementation: two ICE agents of any
-- implementations (natlab-ice, the libnice adapter "nice", or a path to a
-- program speaking docs/agent-protocol.md), each behind a NAT preset, with
-- STUN and TURN servers (natlab's own or coturn) on the internet. The grid
-- is left implementation x right implementation (the left one controls);
-- each square gathers every NAT pair of that combination (the most common
-- exact path, with how many cells took it); the verdict of each cell is
-- its path class against scenarios/matrix_expected.lua.
--
-- A cell passes when both agents select a pair, data flows both ways over
-- it, and the path class ("direct", "relay" over UDP, "relay-tcp" over TCP
-- or TLS) is the expected one. The exact path (srflx, prflx, relay-tls, ...)
-- is kept under observations. A missing implementation or coturn makes the
-- cell skipped, with the package to install.
--
--   natlab run scenarios/interop.lua                       # 4 x 81 cells
--   natlab run scenarios/interop.lua -p servers=coturn     # against coturn
--   natlab run scenarios/interop.lua -p left=symmetric -p right_impl=./my-agent
--   natlab run scenarios/interop.lua -p turn=tls -p right=udp-blocked  # only TURN's TLS port

local function expected_table()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$")
  local dir = src and src:match("^(.*)/[^/]*$") or "."
  local chunk, err = loadfile(dir .. "/matrix_expected.lua")
  if not chunk then error("interop: cannot load matrix_expected.lua: " .. tostring(err)) end
  return chunk()
end
local EXPECT = expected_table()

local function expected(left, right)
  for i, n in ipairs(EXPECT.order) do
    if n == right then return EXPECT.grid[left] and EXPECT.grid[left][i] end
  end
  return nil
end

-- The class of matrix_expected.lua for a path of natlab.path_of.
local function class_of(path)
  if path == "host" or path == "srflx" or path == "prflx" then return "direct" end
  if path == "relay-udp" then return "relay" end
  if path == "relay-tcp" or path == "relay-tls" then return "relay-tcp" end
  return "failed"
end

-- One side of the call: "open" is a public host, "cgnat" a host behind a
-- home NAT (port-restricted cone, the ordinary Linux router) behind the
-- carrier's NAT, any other preset one NAT of that preset.
local function side(net, name, preset)
  if preset == "open" then
    net:public_host(name)
  elseif preset == "cgnat" then
    local carrier = net:nat(name .. "-cgn", "cgnat")
    net:host(name, net:nat(name .. "-nat", "port-restricted-cone", carrier))
  else
    net:host(name, net:nat(name .. "-nat", preset))
  end
end

-- TURN listens on UDP/TCP 3478, TCP 80 and TLS 443: the web ports leave a
-- firewall that lets only them out (tcp-web-only).
local TURN_PORTS = { udp = 3478, tcp = 3478, tcp_web = 80, tls_web = 443 }

scenario {
  name = "interop",
  description = "implementation x implementation ICE (natlab-ice, libnice, yours) across NAT presets, natlab's or coturn's servers",
  params = {
    left = { kind = "nat_preset", description = "left NAT preset", default = "port-restricted-cone" },
    right = { kind = "nat_preset", description = "right NAT preset", default = "port-restricted-cone" },
    left_impl = { description = "left (controlling) agent: natlab-ice, nice, or a path", default = "natlab-ice" },
    right_impl = { description = "right (controlled) agent: natlab-ice, nice, or a path", default = "nice" },
    servers = { description = "STUN/TURN servers: natlab or coturn", default = "natlab" },
    turn = { description = "TURN server transports the agents get: all (udp 3478, tcp 80, tls 443), udp, tcp or tls",
             default = "all" },
    timeout_ms = { description = "time allowed to select a pair", default = 15000 },
  },
  matrix = { left_impl = { "natlab-ice", "nice" }, right_impl = { "natlab-ice", "nice" },
             left = EXPECT.order, right = EXPECT.order },
  grid = { name = "interop: left implementation (controlling) x right implementation (controlled)",
           rows = "left_impl", cols = "right_impl" },
  timeout_ms = 40000,

  network = function(p)
    if not (natlab.features.route and natlab.features.nat) then
      natlab.skip("this natlab was built without emu routes or NATs")
    end
    -- before building anything: a missing implementation skips the cell
    for _, impl in ipairs({ p.left_impl, p.right_impl }) do
      local ok, why, known = natlab.impl_path(impl)
      if not ok and known then natlab.skip(why) end
      if not ok then error(why, 0) end
    end
    local net = natlab.net()
    net:internet()
    net:public_host("stun")
    net:public_host("turn")
    side(net, "left", p.left)
    side(net, "right", p.right)
    -- keep the server processes referenced for the whole cell
    local err
    net.stun_proc, err = natlab.server(net, "stun", "stun", { impl = p.servers })
    if not net.stun_proc then natlab.skip(err) end
    net.turn_proc, err = natlab.server(net, "turn", "turn", { impl = p.servers, ports = TURN_PORTS })
    if not net.turn_proc then natlab.skip(err) end
    return net
  end,

  run = function(net, p, cell)
    local a = net.addr.turn
    local urls = { udp = "udp:" .. a .. ":3478", tcp = "tcp:" .. a .. ":80", tls = "tls:" .. a .. ":443" }
    local turn = p.turn == "all" and { urls.udp, urls.tcp, urls.tls } or { urls[p.turn] }
    if not turn[1] then error("interop: turn must be all, udp, tcp or tls (not " .. tostring(p.turn) .. ")", 0) end
    local common = {
      stun = net.addr.stun .. ":3478",
      -- libnice has no TLS in its RFC 5245 mode: its "tls" relay is plain
      -- TURN over TCP to port 443, which both servers accept there
      turn = turn,
      turn_user = "natlab", turn_pass = "natlab",
      -- natlab-ice: a silent STUN server costs 1 s, not 3; regular
      -- nomination waits 500 ms (not 100) for a better pair still being
      -- checked, so that on a loaded CI machine a TCP relay that answered
      -- first does not win over the UDP relay (libnice ignores both)
      args = { "--seed", tostring(cell.seed % 2147483647), "--gather-timeout-ms", "1000",
               "--nominate-wait-ms", "500" },
    }
    local function agent(name, impl, role)
      local o = { impl = impl, role = role, name = name }
      for k, v in pairs(common) do o[k] = v end
      return natlab.agent(net, name, o)
    end
    local l = agent("left", p.left_impl, "controlling")
    local r = agent("right", p.right_impl, "controlled")
    local res = natlab.ice_connect(l, r, { timeout_ms = p.timeout_ms, names = { "left", "right" },
                                           record = false })
    -- The report shows the exact path; the verdict is on its class.
    local want = expected(p.left, p.right)
    local class = class_of(res.path)
    natlab.observe("class", class)
    natlab.observe("expected_class", want)
    natlab.observe("impls", p.left_impl .. " > " .. p.right_impl)
    local rec = { path = res.path, connect_ms = res.connect_ms, outcome = "pass",
                  selected = res.selected.left, candidates = res.candidates, message = res.reason,
                  pairs = next(res.pairs or {}) and res.pairs or nil }
    if want and class ~= want then
      rec.outcome = "fail"
      rec.message = string.format("expected a %s path, observed %s%s", want, res.path,
                                  res.reason and (": " .. res.reason) or "")
    end
    if res.ok then
      -- data both ways over the selected pair
      local n = 4
      local cmd = { cmd = "send", n = n, size = 200, interval_ms = 5 }
      l:send(cmd)
      r:send(cmd)
      local seen, count = { {}, {} }, { 0, 0 }
      local deadline = natlab.now_ms() + 3000
      while (count[1] < n or count[2] < n) and natlab.now_ms() < deadline do
        local i, ev = natlab.poll({ l, r }, deadline - natlab.now_ms())
        if not i then break end
        if ev.ev == "rx" and ev.seq and not seen[i][ev.seq] then
          seen[i][ev.seq] = true
          count[i] = count[i] + 1
        end
      end
      natlab.observe("selected_right", res.selected.right)
      natlab.observe("rx", { left = count[1], right = count[2], sent = n })
      rec.data = { sent = n, received = count[1] }
      if rec.outcome == "pass" and (count[1] == 0 or count[2] == 0) then
        rec.outcome = "fail"
        rec.message = string.format("selected %s but data did not flow both ways (left got %d/%d, right %d/%d)",
                                    res.path, count[1], n, count[2], n)
      end
    end
    natlab.result(rec)
    for _, x in ipairs({ l, r }) do x:send { cmd = "stop" } end
    for _, x in ipairs({ l, r }) do
      if not x:wait(natlab.stop_grace_ms) then x:kill() end
    end
  end,
}
