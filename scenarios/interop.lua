-- interop.lua - implementation x implementation: every installed ICE
-- implementation against every installed one (the left one controlling),
-- over every NAT preset x every NAT preset, with natlab's or coturn's
-- STUN/TURN servers on the internet. Each cell is the call of
-- scenarios/matrix.lua (scenarios/prelude/45_call.lua): the path class the
-- wire saw the data take against scenarios/matrix_expected.lua, adjusted by
-- what the agents declared they can do (`unsupported` when a side declares
-- it cannot reach the cell's only way out), two-way data.
--
-- The report draws one 9 x 9 grid per implementation pair and, above them,
-- the summary grid: left implementation x right implementation, each
-- square the pass rate over its applicable cells (not skipped, not
-- unsupported) with the unsupported and failed counts, linking to the
-- pair's grid (docs/implementations.md says how to read it).
--
-- Which implementations: -p impls=a,b,... (both sides) or left_impl= /
-- right_impl= (one side each). By default every implementation of
-- natlab.agent_impls whose program is installed; the ones that are not
-- are left out of the default sweep (`natlab list interop` names them in
-- the description of impls, with natlab doctor for what to install).
-- Named explicitly, a missing one's cells are `skipped` with its install
-- command.
--
--   natlab run scenarios/interop.lua                         # n x n x 81 cells
--   natlab run scenarios/interop.lua -p impls=natlab-ice,nice
--   natlab run scenarios/interop.lua -p left_impl=nice -p right_impl=natlab-ice,nice
--   natlab run scenarios/interop.lua -p servers=coturn       # against coturn
--   natlab run scenarios/interop.lua -p turn=tls -p right=udp-blocked   # only TURN's TLS port
--   natlab run scenarios/interop.lua --shard 1/4 ...          # CI shards, natlab merge
natlab.scen.use_dir()
local S = natlab.scen
local EXPECT = S.expected_table()

local installed, missing = S.installed_impls()
-- natlab-ice is built with natlab; should even it be missing, its cells
-- skip saying so rather than the scenario having no cells
if #installed == 0 then installed = { "natlab-ice" } end
local left_out = {}
for _, name in ipairs(natlab.agent_impls) do
  if missing[name] then left_out[#left_out + 1] = name end
end

-- judged half a second after the first data: foreign stacks renominate
-- after their first selection (libnice as controller; libwebrtc switches
-- about 200 ms later), and a switch inside a window that opened at once
-- would be judged on data sent before it (docs/expected-matrix.md, V5)
local params = S.call_params({ settle_ms = 500 })
params.impls = {
  description = "implementations on both sides, comma-separated (sets left_impl and right_impl unless they are given); default: the installed ones of natlab.agent_impls (here: " ..
                table.concat(installed, ",") .. (#left_out > 0 and ("; not installed, left out: " ..
                table.concat(left_out, ", ") .. ", see natlab doctor") or "") .. ")",
  default = table.concat(installed, ","),
  sets = { "left_impl", "right_impl" },
}

scenario {
  name = "interop",
  description = "implementation x implementation ICE (every installed stack) across NAT presets: wire-settled path, capabilities, two-way data",
  params = params,
  matrix = { left_impl = installed, right_impl = installed, left = EXPECT.order, right = EXPECT.order },
  grid = { name = "interop: path class (expected from scenarios/matrix_expected.lua)", rows = "left", cols = "right",
           split = { "left_impl", "right_impl", "servers" } },
  summary = { name = "interop: left implementation (controlling) x right implementation (controlled)",
              rows = "left_impl", cols = "right_impl" },
  expect = S.call_expect(EXPECT),
  timeout_ms = 40000,
  network = S.call_network,
  run = S.call_run(EXPECT),
}
