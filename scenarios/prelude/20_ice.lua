-- 20_ice.lua - starting ICE agents (docs/agent-protocol.md) and connecting
-- two of them with the harness relaying their signalling.

-- Agents (natlab.agent) are started by 40_impls.lua.

-- The path class of a connection from the selected pairs of one or both
-- sides (results/README.md): a relay on either side wins, named by how that
-- side reaches its TURN server (tls over tcp over udp when both relay);
-- then prflx, then srflx, else host.
local rank = { udp = 1, tcp = 2, tls = 3 }
function natlab.path_of(sel, other)
  local sels = {}
  for _, s in ipairs({ sel, other }) do
    if s and s["local"] and s.remote then sels[#sels + 1] = s end
  end
  if #sels == 0 then return "failed" end
  local relay = nil
  for _, s in ipairs(sels) do
    if s["local"].type == "relay" then
      local t = s["local"].relay_transport or "udp"
      if not relay or (rank[t] or 0) > (rank[relay] or 0) then relay = t end
    end
  end
  if not relay then
    for _, s in ipairs(sels) do
      if s.remote.type == "relay" then relay = relay or s.remote.relay_transport or "udp" end
    end
  end
  if relay then return "relay-" .. relay end
  local best = "host"
  for _, s in ipairs(sels) do
    for _, c in ipairs({ s["local"], s.remote }) do
      if c.type == "prflx" then best = "prflx" elseif c.type == "srflx" and best == "host" then best = "srflx" end
    end
  end
  return best
end

-- natlab.claim(conn, side, ev): note a selected/switched event of @side in
-- an ice_connect outcome: conn.selected[side] is the side's latest pair,
-- conn.first[side] its first, conn.claim_ms[side] when the latest came
-- (ms since ice_connect began), conn.switches the changes after the
-- first ({side, t_ms, from, to} with the claim-derived path of that side's
-- pair alone). Used by ice_connect and, through the data phase, by
-- natlab.scen.two_way, so a stack that switches pairs later is heard.
-- natlab.conn_of[proc] -> the ice_connect outcome @proc last took part in
-- (weak keys), so a data phase that is not handed it still hears switches.
natlab.conn_of = setmetatable({}, { __mode = "k" })

function natlab.claim(conn, side, ev)
  local t = natlab.now_ms() - (conn.t0 or 0)
  conn.first = conn.first or {}
  conn.claim_ms = conn.claim_ms or {}
  conn.switches = conn.switches or {}
  local prev = conn.selected[side]
  if prev then
    conn.switches[#conn.switches + 1] = { side = side, t_ms = t, ev = ev.ev,
                                          from = natlab.path_of(prev), to = natlab.path_of(ev) }
  else
    conn.first[side] = ev
  end
  conn.selected[side] = ev
  conn.claim_ms[side] = t
end

-- natlab.answerer(ready) -> bool: the agent declared in its ready event
-- that it must see the peer's description (`remote`) before it gives its
-- own `local` (an SDP answerer; docs/agent-protocol.md, "Sequences").
function natlab.answerer(ready)
  return type(ready) == "table" and ready.answerer == true
end

-- natlab.two_answerers(ready_a, ready_b, names) -> nil | message: both
-- agents wait for the other's description, so neither would ever give one.
function natlab.two_answerers(ra, rb, names)
  if not (natlab.answerer(ra) and natlab.answerer(rb)) then return nil end
  return string.format("both agents declare \"answerer\": true in ready (%s and %s must see the " ..
    "peer's description before giving their own), so there is no offerer and no offer/answer " ..
    "can start: run one side as the offerer (a WebRTC adapter offers when --role controlling)",
    names[1], names[2])
end

-- natlab.signal_relay(procs[, opts]) -> relay
-- The harness's half of the signalling between two agents (procs[1],
-- procs[2]): relay:event(i, ev) takes an event of procs[i] and passes what
-- it signals to the other one (docs/agent-protocol.md, "Sequences"):
--   - a `local` as soon as it arrives (trickling; else once complete) as
--     the peer's `remote`, its `session` verbatim. Never held back for
--     the peer's own local: an answerer gets the offerer's description
--     before it gives its own;
--   - trickled `candidate` events and the end of candidates as
--     `candidate` / `end-of-candidates` commands, queued until their
--     receiver has had a `remote` (a candidate means nothing before the
--     credentials it belongs to).
-- opts.trickle: relay every local and candidate as it comes (else only a
-- complete local, and no candidate events). opts.on_local(i, ev) is
-- called for every local, opts.on_candidate(i, c) for every candidate.
-- Used by natlab.ice_connect and by scenarios that restart (rebinding).
local Relay = {}
Relay.__index = Relay

function natlab.signal_relay(procs, opts)
  opts = opts or {}
  return setmetatable({ procs = procs, trickle = opts.trickle, opts = opts,
                        has_remote = { false, false }, queue = { {}, {} } }, Relay)
end

-- a command for procs[j] that needs its remote first
function Relay:after_remote(j, cmd)
  if self.has_remote[j] then
    self.procs[j]:send(cmd)
  else
    local q = self.queue[j]
    q[#q + 1] = cmd
  end
end

function Relay:event(i, ev)
  local j = 3 - i
  if ev.ev == "local" then
    if self.opts.on_local then self.opts.on_local(i, ev) end
    if self.trickle or ev.complete then
      -- session: WebRTC-level session parameters, relayed verbatim (issue 17)
      self.procs[j]:send { cmd = "remote", ufrag = ev.ufrag, pwd = ev.pwd, candidates = ev.candidates or {},
                           session = ev.session }
      self.has_remote[j] = true
      for _, cmd in ipairs(self.queue[j]) do self.procs[j]:send(cmd) end
      self.queue[j] = {}
      -- a trickling agent's complete local is its end of candidates too
      if self.trickle and ev.complete then self.procs[j]:send { cmd = "end-of-candidates" } end
    end
    return true
  elseif ev.ev == "candidate" and self.trickle then
    if ev["end"] then
      self:after_remote(j, { cmd = "end-of-candidates" })
    elseif ev.candidate then
      if self.opts.on_candidate then self.opts.on_candidate(i, ev.candidate) end
      self:after_remote(j, { cmd = "candidate", candidate = ev.candidate })
    end
    return true
  end
  return false
end

-- natlab.ice_connect(a, b, opts) -> outcome table
-- Relays the signalling between agents a and b (procs), full (the whole
-- candidate list once gathering completes) or trickle (each candidate as
-- it comes, RFC 8838), and waits for both to select a pair.
-- opts: trickle (bool), timeout_ms (default 15000), names ({"a","b"}),
-- dataplane (the plane the scenario asks for: "datagram", "datachannel";
-- nil: the harness chooses).
-- Before gathering it waits for both agents' ready events (already read
-- by natlab.ready or not): two answerers end the connection at once; the
-- data plane is chosen from both sides' `dataplanes`
-- (natlab.dataplane_choose: the asked one if both offer it, else datagram,
-- else datachannel, else none) and named in each `gather` command of an
-- agent that declares `dataplanes`. The signalling goes through
-- natlab.signal_relay (offer/answer order, session objects verbatim).
-- Returns {ok, path, connect_ms, selected = {a=, b=}, candidates = {a=, b=},
-- pairs = {a=, b=}, reason, dataplane, dataplane_note} and, for the data
-- phase that follows (see natlab.claim), t0, names, first, claim_ms,
-- switches. dataplane is the chosen plane's name, or nil when the two
-- have none in common (dataplane_note then says what each offers). It
-- returns at the first selection of both sides; scen.two_way/scen.data_phase
-- keep listening for `switched`. Records dataplane ("none" without one),
-- and unless opts.record == false path, connect_ms, selected, candidates
-- and pairs (each side's last "checks" event: its check list, for agents
-- that send one) with natlab.result.
function natlab.ice_connect(a, b, opts)
  opts = opts or {}
  local names = opts.names or { "a", "b" }
  local procs = { a, b }
  local timeout = opts.timeout_ms or 15000
  local t0 = natlab.now_ms()
  local deadline = t0 + timeout
  local out = { ok = false, candidates = { [names[1]] = {}, [names[2]] = {} }, selected = {}, pairs = {}, t0 = t0,
                names = names }
  natlab.conn_of[a], natlab.conn_of[b] = out, out
  out.procs = procs
  local selected = { nil, nil }
  local ready = { natlab.ready_seen(a), natlab.ready_seen(b) }
  local relay = natlab.signal_relay(procs, {
    trickle = opts.trickle,
    on_local = function(i, ev)
      for _, c in ipairs(ev.candidates or {}) do table.insert(out.candidates[names[i]], c) end
    end,
    on_candidate = function(i, c) table.insert(out.candidates[names[i]], c) end,
  })
  local started = false
  -- both ready: the offer/answer roles and the data plane, then gather
  local function start()
    started = true
    local two = natlab.two_answerers(ready[1], ready[2], names)
    if two then
      out.reason = two
      return false
    end
    local plane, oa, ob = natlab.dataplane_choose(ready[1], ready[2], opts.dataplane)
    out.dataplane = plane
    natlab.result { dataplane = plane or "none" }
    if not plane then
      out.dataplane_note = string.format("no data plane in common (%s: %s; %s: %s)", names[1], oa, names[2], ob)
    end
    for i = 1, 2 do
      -- only an agent that declares planes is told which one: a gather
      -- stays what it always was for the others
      local told = plane and type(ready[i].dataplanes) == "table"
      procs[i]:send { cmd = "gather", dataplane = told and plane or nil }
    end
    return true
  end
  if ready[1] and ready[2] then start() end
  while not out.reason and natlab.now_ms() < deadline do
    local i, ev = natlab.poll(procs, deadline - natlab.now_ms())
    if not i then
      out.reason = ev == "eof" and "both agents exited" or "timed out after " .. timeout .. " ms"
      break
    end
    local me = names[i]
    -- a malformed line never ends the exchange by itself (an agent may
    -- recover), but the first one is named in the reason if it fails
    local bad = nil
    if ev.ev == "nonjson" then
      bad = "a line that is not JSON: '" .. tostring(ev.line):sub(1, 80) .. "'"
    elseif type(ev.ev) ~= "string" then
      bad = "a JSON line without a string \"ev\""
    elseif ev.candidates ~= nil and type(ev.candidates) ~= "table" then
      bad = "a '" .. ev.ev .. "' event whose candidates is a " .. type(ev.candidates) .. ", not a list"
      ev = {}
    elseif (ev["local"] ~= nil and type(ev["local"]) ~= "table") or (ev.remote ~= nil and type(ev.remote) ~= "table") then
      bad = "a '" .. ev.ev .. "' event whose local/remote is not an object"
      ev = {}
    end
    if bad and not out.malformed then out.malformed = me .. " sent " .. bad end
    if ev.ev == "ready" then
      if not ready[i] then
        ready[i] = ev
        natlab.ready_note(procs[i], ev)
      end
      if ready[1] and ready[2] and not started and not start() then break end
    elseif relay:event(i, ev) then
      -- signalling: relayed
    elseif ev.ev == "checks" and type(ev.pairs) == "table" then
      out.pairs[me] = ev.pairs
    elseif ev.ev == "selected" or ev.ev == "switched" then
      natlab.claim(out, me, ev)
      selected[i] = ev
      if selected[1] and selected[2] then
        out.ok = true
        out.connect_ms = natlab.now_ms() - t0
        break
      end
    elseif ev.ev == "failed" then
      out.reason = me .. " failed: " .. tostring(ev.reason)
      break
    elseif ev.ev == "state" and ev.state == "failed" then
      out.reason = me .. " reached state failed"
      break
    end
  end
  if not out.ok and not out.reason then out.reason = "timed out after " .. timeout .. " ms" end
  if not out.ok and out.malformed then
    out.reason = out.reason .. " (" .. out.malformed .. ")"
  elseif not out.ok and not started then
    local none = {}
    for i = 1, 2 do if not ready[i] then none[#none + 1] = names[i] end end
    out.reason = out.reason .. " (no ready event from " .. table.concat(none, " and ") .. ")"
  end
  out.path = out.ok and natlab.path_of(selected[1], selected[2]) or "failed"
  if opts.record ~= false then
    natlab.result {
      path = out.path, connect_ms = out.connect_ms, selected = out.selected[names[1]],
      candidates = out.candidates, message = out.reason,
      pairs = next(out.pairs) and out.pairs or nil,
    }
  end
  return out
end
