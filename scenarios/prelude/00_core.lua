-- 00_core.lua - scenario declaration and cell expansion (prelude, compiled
-- into natlab). Loaded in file-name order before any scenario.

local declared = nil

-- scenario{...}: declare the scenario of this file. See docs/lua-api.md.
function scenario(t)
  if type(t) ~= "table" then
    error("scenario{...} takes a table", 2)
  end
  if type(t.name) ~= "string" or not t.name:match("^[%w_.-]+$") then
    error("scenario: name must be a word of letters, digits, '_', '.', '-'", 2)
  end
  if declared then
    error("scenario: declared twice in one file ('" .. declared.name .. "' and '" .. t.name .. "')", 2)
  end
  if t.run ~= nil and type(t.run) ~= "function" then
    error("scenario: run must be a function(net, p, cell)", 2)
  end
  t.params = t.params or {}
  for k, spec in pairs(t.params) do
    if type(spec) ~= "table" or spec.default == nil then
      error("scenario: param '" .. tostring(k) .. "' needs {description=..., default=...}", 2)
    end
    if spec.kind ~= nil and not natlab._kinds[spec.kind] then
      error("scenario: param '" .. tostring(k) .. "' has kind '" .. tostring(spec.kind) ..
            "'; known kinds: " .. table.concat(natlab.sorted_keys(natlab._kinds), ", "), 2)
    end
  end
  t.matrix = t.matrix or {}
  for k, vals in pairs(t.matrix) do
    if not t.params[k] then
      error("scenario: matrix axis '" .. tostring(k) .. "' is not a declared param", 2)
    end
    if type(vals) ~= "table" or #vals == 0 then
      error("scenario: matrix axis '" .. k .. "' needs a non-empty list of values", 2)
    end
  end
  -- summary = {rows = "param", cols = "param"[, name = ]}: one more grid
  -- over the grids, each square every cell of one (rows, cols) value pair
  if t.summary ~= nil then
    local sm = t.summary
    if type(sm) ~= "table" or type(sm.rows) ~= "string" or type(sm.cols) ~= "string" then
      error("scenario: summary must be {rows = \"param\", cols = \"param\"}", 2)
    end
    for _, k in ipairs({ sm.rows, sm.cols }) do
      if not t.params[k] then error("scenario: summary axis '" .. k .. "' is not a declared param", 2) end
    end
  end
  -- a param with sets = {"param", ...} stands for those params: its -p
  -- value is given to each of them that -p does not name itself
  for k, spec in pairs(t.params) do
    for _, target in ipairs(spec.sets or {}) do
      if not t.params[target] then
        error("scenario: param '" .. k .. "' sets '" .. tostring(target) .. "', which is not a declared param", 2)
      end
    end
  end
  declared = t
  return t
end

function natlab._declared()
  return declared
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end
natlab.sorted_keys = sorted_keys

-- Param kinds: a param declared {kind = K, ...} has each of its values
-- (default, matrix axis, -p) checked by natlab._kinds[K](value) when the
-- cells are expanded, before any cell runs: the checker returns nil for a
-- good value, else the message. A typo ("symetric") then stops the run
-- with the known values named, instead of failing every cell later.
natlab._kinds = {
  nat_preset = function(v) return natlab.nat_preset_check(tostring(v)) end,
}

local function check_kind(spec, v)
  if spec.kind == nil then return nil end
  return natlab._kinds[spec.kind](v)
end

local function split_list(v)
  local out = {}
  for item in tostring(v):gmatch("[^,]+") do out[#out + 1] = item end
  return out
end

-- Parameter values from the command line are strings; give them the type
-- of the declared default.
local function coerce(spec, v)
  if type(spec.default) == "number" then
    local n = tonumber(v)
    if not n then error("param expects a number, got '" .. v .. "'", 0) end
    -- "2e999" parses as infinity, which no parameter means and which a
    -- JSON result file cannot hold.
    if n ~= n or n == math.huge or n == -math.huge then
      error("param expects a finite number, got '" .. v .. "'", 0)
    end
    return n
  elseif type(spec.default) == "boolean" then
    if v == "true" or v == "1" or v == "yes" then return true end
    if v == "false" or v == "0" or v == "no" then return false end
    error("param expects true or false, got '" .. v .. "'", 0)
  end
  return v
end

-- natlab._cells(decl, overrides, trials): the cells of a scenario: the
-- cartesian product of its matrix axes (an axis overridden with -p k=a,b
-- sweeps those values; -p k=v pins it), times trials.
function natlab._cells(t, overrides, trials)
  -- a param that sets others (sets = {...}) hands them its value and is
  -- no axis itself: its value is kept as given, for the cell to read
  local given, via = {}, {}
  for k, v in pairs(overrides) do given[k] = v end
  overrides = {}
  for k, v in pairs(given) do
    local spec = t.params[k]
    if spec and spec.sets then
      for _, target in ipairs(spec.sets) do
        if given[target] == nil then overrides[target] = v; via[target] = k end
      end
    else
      overrides[k] = v
    end
  end
  local axes = {}
  for k, vals in pairs(t.matrix) do axes[k] = vals end
  for k, v in pairs(overrides) do
    local spec = t.params[k]
    if not spec then
      error("scenario '" .. t.name .. "' has no param '" .. k .. "' (it has: " ..
            table.concat(sorted_keys(t.params), ", ") .. ")", 0)
    end
    local vals = split_list(v)
    for i, x in ipairs(vals) do
      -- a value given through a param that sets this one is named so
      local name = via[k] and (via[k] .. " (setting " .. k .. ")") or k
      local ok, r = pcall(coerce, spec, x)
      if not ok then error("-p " .. name .. ": " .. r, 0) end
      local bad = check_kind(spec, r)
      if bad then error("-p " .. name .. ": " .. bad, 0) end
      vals[i] = r
    end
    if #vals > 1 or t.matrix[k] then axes[k] = vals else axes[k] = nil end
  end
  -- the scenario's own values of a typed param: its default (when no -p
  -- replaces it) and its matrix axis (when not overridden)
  for _, k in ipairs(sorted_keys(t.params)) do
    local spec = t.params[k]
    local own = {}
    if overrides[k] == nil then
      own[1] = spec.default
      for _, x in ipairs(t.matrix[k] or {}) do own[#own + 1] = x end
    end
    for _, x in ipairs(own) do
      local bad = check_kind(spec, x)
      if bad then error("scenario '" .. t.name .. "': param '" .. k .. "': " .. bad, 0) end
    end
  end
  local base = {}
  for k, spec in pairs(t.params) do base[k] = spec.default end
  for k, v in pairs(given) do
    if t.params[k].sets then base[k] = v end
  end
  for k, v in pairs(overrides) do
    if not axes[k] then base[k] = coerce(t.params[k], v) end
  end
  local names = sorted_keys(axes)
  local combos = { {} }
  for _, k in ipairs(names) do
    local next_combos = {}
    for _, c in ipairs(combos) do
      for _, v in ipairs(axes[k]) do
        local n = {}
        for a, b in pairs(c) do n[a] = b end
        n[k] = v
        next_combos[#next_combos + 1] = n
      end
    end
    combos = next_combos
  end
  local grid = t.grid or {}
  -- grid.split = {param, ...}: when any of them is swept, each combination
  -- of their values gets a grid of its own (named after them), so that e.g.
  -- an implementation pair is not folded into the NAT pair's square.
  local split = {}
  for _, k in ipairs(grid.split or {}) do
    if axes[k] then split = grid.split; break end
  end
  -- the summary grid is drawn when one of its axes is swept
  local sm = t.summary
  if sm and not (axes[sm.rows] or axes[sm.cols]) then sm = nil end
  local cells = {}
  for _, c in ipairs(combos) do
    local p = {}
    for k, v in pairs(base) do p[k] = v end
    local parts = {}
    for _, k in ipairs(names) do
      p[k] = c[k]
      parts[#parts + 1] = k .. "=" .. tostring(c[k])
    end
    local id = t.name
    if #parts > 0 then id = id .. "/" .. table.concat(parts, ",") end
    local expected = nil
    if type(t.expect) == "function" then
      expected = t.expect(p)
    elseif type(t.expect) == "string" then
      expected = t.expect
    end
    local gname = grid.name or t.name
    if #split > 0 then
      local w = {}
      for _, k in ipairs(split) do w[#w + 1] = k .. "=" .. tostring(p[k]) end
      gname = gname .. " [" .. table.concat(w, ", ") .. "]"
    end
    for trial = 0, trials - 1 do
      cells[#cells + 1] = {
        id = id, scenario = t.name, params = p, trial = trial,
        expected_path = expected,
        timeout_ms = t.timeout_ms or 60000,
        grid = {
          name = gname,
          row = grid.rows and tostring(p[grid.rows]) or id,
          col = grid.cols and tostring(p[grid.cols]) or "result",
          row_label = grid.rows, col_label = grid.cols,
          summary = sm and {
            name = sm.name or (t.name .. ": " .. sm.rows .. " x " .. sm.cols),
            row = tostring(p[sm.rows]), col = tostring(p[sm.cols]),
            row_label = sm.rows, col_label = sm.cols,
          } or nil,
        },
      }
    end
  end
  return cells
end

-- natlab.lookup(tbl, k1, k2, ...): tbl[k1][k2]..., with "*" as a wildcard
-- at any level; for expected-outcome tables keyed by NAT names.
function natlab.lookup(tbl, ...)
  local v = tbl
  for _, k in ipairs({...}) do
    if type(v) ~= "table" then return nil end
    local nv = v[k]
    if nv == nil then nv = v["*"] end
    v = nv
  end
  return v
end

-- natlab.skip(msg) / natlab.fail(msg): end the cell now with that outcome.
function natlab.skip(msg)
  error({ natlab_outcome = "skipped", message = msg }, 0)
end

function natlab.fail(msg)
  error({ natlab_outcome = "fail", message = msg }, 0)
end

-- natlab.unsupported(msg): end the cell now as `unsupported`: it needs
-- something an implementation declared it cannot do (natlab.need). Not a
-- failure, not a skip: the implementation's limitation, reported as such.
function natlab.unsupported(msg)
  error({ natlab_outcome = "unsupported", message = msg }, 0)
end

-- natlab._build(decl, params): the network only (natlab exec / shell).
function natlab._build(decl, params)
  if not decl.network then
    error("scenario '" .. decl.name .. "' has no network function to build", 0)
  end
  return decl.network(params)
end

-- natlab._run(decl, cell): build the network, run the test. Lua's
-- math.random is seeded from the cell's seed first, so a cell re-run with
-- --filter and --seed draws the same numbers even when the script never
-- seeds it (a script may still reseed; docs/lua-api.md).
function natlab._run(decl, cell)
  if math.type(cell.seed) == "integer" then math.randomseed(cell.seed) end
  local net = nil
  if decl.network then net = decl.network(cell.params, cell) end
  natlab._phase("network") -- a profile mark: nothing unless NATLAB_PROFILE=1
  if decl.run then decl.run(net, cell.params, cell) end
  natlab._phase("run")
end
