-- 05_timers.lua - things that happen at a time offset (faults, NAT
-- reboots, link flaps) while a scenario waits. Lua runs one thing at a
-- time: due timers fire inside natlab.poll, natlab.sleep_ms (and so inside
-- natlab.ice_connect) and natlab.run_timers.

local timers = {}

-- natlab.at(t_ms, fn): run fn when the cell is t_ms old.
function natlab.at(t_ms, fn)
  if type(fn) ~= "function" then error("natlab.at: give a function", 2) end
  timers[#timers + 1] = { t = t_ms, fn = fn, seq = #timers }
  table.sort(timers, function(a, b) return a.t < b.t or (a.t == b.t and a.seq < b.seq) end)
end

-- natlab.after(ms, fn): run fn ms from now.
function natlab.after(ms, fn)
  natlab.at(natlab.now_ms() + ms, fn)
end

-- natlab.run_timers(): fire every timer that is due.
function natlab.run_timers()
  while timers[1] and timers[1].t <= natlab.now_ms() do
    local t = table.remove(timers, 1)
    natlab.event("harness", "timer")
    t.fn()
  end
end

local function next_wait(deadline)
  local now = natlab.now_ms()
  local wait = deadline - now
  if timers[1] and timers[1].t - now < wait then wait = timers[1].t - now end
  if wait < 0 then wait = 0 end
  return wait
end

local c_poll, c_sleep = natlab.poll, natlab.sleep_ms

function natlab.poll(procs, timeout_ms)
  local deadline = natlab.now_ms() + (timeout_ms or 5000)
  while true do
    natlab.run_timers()
    local i, ev = c_poll(procs, next_wait(deadline))
    if i then return i, ev end
    if ev == "eof" then return nil, "eof" end
    if natlab.now_ms() >= deadline then
      natlab.run_timers()
      return nil, "timeout"
    end
  end
end

function natlab.sleep_ms(ms)
  local deadline = natlab.now_ms() + ms
  repeat
    natlab.run_timers()
    c_sleep(next_wait(deadline))
  until natlab.now_ms() >= deadline
  natlab.run_timers()
end
