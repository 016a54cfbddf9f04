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

-- natlab.ice_connect(a, b, opts) -> outcome table
-- Relays the signalling between agents a and b (procs), full (the whole
-- candidate list once gathering completes) or trickle (each candidate as
-- it comes, RFC 8838), and waits for both to select a pair.
-- opts: trickle (bool), timeout_ms (default 15000), names ({"a","b"}).
-- Returns {ok, path, connect_ms, selected = {a=, b=}, candidates = {a=, b=},
-- pairs = {a=, b=}, reason} and, for the data phase that follows (see
-- natlab.claim), t0, names, first, claim_ms, switches. It returns at the
-- first selection of both sides; scen.two_way/scen.data_phase keep
-- listening for `switched`. A `local` event's `session` object goes
-- verbatim into the peer's `remote` command (issue 17). Records path, connect_ms, selected, candidates
-- and pairs (each side's last "checks" event: its check list, for agents
-- that send one) with natlab.result unless opts.record == false.
function natlab.ice_connect(a, b, opts)
  opts = opts or {}
  local names = opts.names or { "a", "b" }
  local procs = { a, b }
  local peer = { 2, 1 }
  local timeout = opts.timeout_ms or 15000
  local t0 = natlab.now_ms()
  local deadline = t0 + timeout
  local out = { ok = false, candidates = { [names[1]] = {}, [names[2]] = {} }, selected = {}, pairs = {}, t0 = t0,
                names = names }
  natlab.conn_of[a], natlab.conn_of[b] = out, out
  out.procs = procs
  local sent_remote = { false, false }
  local selected = { nil, nil }
  for i = 1, 2 do procs[i]:send { cmd = "gather" } end
  while natlab.now_ms() < deadline do
    local i, ev = natlab.poll(procs, deadline - natlab.now_ms())
    if not i then
      out.reason = ev == "eof" and "both agents exited" or "timed out after " .. timeout .. " ms"
      break
    end
    local me, other = names[i], procs[peer[i]]
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
    if ev.ev == "local" then
      for _, c in ipairs(ev.candidates or {}) do table.insert(out.candidates[me], c) end
      if (opts.trickle or ev.complete) and not sent_remote[i] then
        -- session: WebRTC-level session parameters, relayed verbatim (issue 17)
        other:send { cmd = "remote", ufrag = ev.ufrag, pwd = ev.pwd, candidates = ev.candidates or {}, session = ev.session }
        sent_remote[i] = true
        if opts.trickle and ev.complete then other:send { cmd = "end-of-candidates" } end
      end
    elseif ev.ev == "candidate" and opts.trickle then
      if ev["end"] then
        other:send { cmd = "end-of-candidates" }
      elseif ev.candidate then
        table.insert(out.candidates[me], ev.candidate)
        other:send { cmd = "candidate", candidate = ev.candidate }
      end
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
  if not out.ok and out.malformed then out.reason = out.reason .. " (" .. out.malformed .. ")" end
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
