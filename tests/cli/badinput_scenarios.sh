#!/usr/bin/env bash
# badinput_scenarios - malformed scenarios and command lines: each gives a
# clear message naming the place (file:line, or the option and the word)
# and exit 2 (or, for a mistake only found when a cell builds its lab, an
# "error" cell with the scenario's line), and never crashes the harness.
# (tests/cli/harness_errors.sh covers unknown command/option/scenario/param,
# a Lua syntax error and --shard.)
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
fx=$src/tests/cli/fixtures
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/natlab-badinput.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

expect() { # expect STATUS PATTERN -- CMD...
  local want=$1 pat=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want; output: $out"
  grep -qE -- "$pat" <<<"$out" || fail "'$*' said '$out', want /$pat/"
  grep -qiE "sanitizer|segmentation fault|core dumped|stack traceback:.*\[C\]: in \?" <<<"$out" &&
    fail "'$*' crashed: $out"
  echo "ok: $* -> $(grep -E -- "$pat" <<<"$out" | head -1 | cut -c1-160)"
}

# wrong parameter type, from the command line: the option and the value
expect 2 "-p port: param expects a number, got 'abc'" -- "$bin" run smoke -p port=abc
expect 2 "-p port: param expects a number, got 'x'" -- "$bin" run smoke -p port=3478,x
# wrong type in the scenario's declaration: file:line and what is expected
expect 2 "badinput_decl.lua:[0-9]+: scenario: param 'x' needs \{description=\.\.\., default=\.\.\.\}" \
  -- "$bin" run "$fx/badinput_decl.lua"
expect 2 "badinput_decl.lua:[0-9]+: scenario: param 'x'" -- "$bin" list "$fx/badinput_decl.lua"
# bad command lines: the option and the word
expect 2 "--trials: 'abc' is not a number >= 1" -- "$bin" run smoke --trials abc
expect 2 "--trials: '-3' is not a number >= 1" -- "$bin" run smoke --trials -3
expect 2 "--jobs: '0' is not a number >= 1 or auto" -- "$bin" run smoke --jobs 0
expect 2 "--timeout: '0' is not a number >= 1" -- "$bin" run smoke --timeout 0
expect 2 "--seed: 'xyz' is not a number" -- "$bin" run smoke --seed xyz
expect 2 "-p: 'noequals' is not key=value" -- "$bin" run smoke -p noequals
expect 2 "-p: '=v' is not key=value" -- "$bin" run smoke -p =v
expect 2 "-p needs key=value" -- "$bin" run smoke -p
expect 2 "--filter needs a pattern" -- "$bin" run smoke --filter
expect 2 "--out needs a directory" -- "$bin" run smoke --out
expect 2 "--shard: 'x' is not K/N" -- "$bin" run smoke --shard x
expect 2 "usage: natlab list" -- "$bin" list smoke extra
expect 2 "no node 'nosuchnode'; it has:" -- "$bin" exec smoke nosuchnode -- true

# a typo in a preset param (kind = "nat_preset") is caught when the cells
# are expanded, before any cell runs: exit 2, the param, the bad value and
# the known presets, and no result directory at all. The message ends with
# the list: no errno text ("No such file or directory") from a system call
# that never failed.
known='\(known: open, full-cone, restricted-cone, port-restricted-cone, easy, address-dependent, symmetric, hard, cgnat, udp-blocked, tcp-web-only\)$'
expect 2 "^natlab run: .*matrix.lua: -p left: unknown NAT preset \"symetric\" $known" \
  -- "$bin" run matrix -p left=symetric --out "$work/r0"
[ -e "$work/r0" ] && fail "a preset typo left a result directory: $(ls -R "$work/r0")"
expect 2 "-p nat: unknown NAT preset \"easyy\" $known" -- "$bin" run smoke -p nat=hard,easyy --out "$work/r0"
[ -e "$work/r0" ] && fail "a swept preset typo left a result directory"
expect 2 "-p right_nat: unknown NAT preset \"cgn\"" -- "$bin" run rebinding -p right_nat=cgn --out "$work/r0"
# ... and in the scenario's own default or matrix values
expect 2 "scenario 'badinput_kind': param 'nat': unknown NAT preset \"port-restricted\" $known" \
  -- "$bin" run "$fx/badinput_kind.lua" --out "$work/r0"
[ -e "$work/r0" ] && fail "a preset typo in a matrix left a result directory"
expect 2 "badinput_kind.lua: .*-p nat: unknown NAT preset \"x\"" -- "$bin" run "$fx/badinput_kind.lua" -p nat=x
expect 2 "badinput_decl_kind.lua:[0-9]+: scenario: param 'nat' has kind 'preset'; known kinds: agent_impl, nat_preset" \
  -- "$bin" run "$fx/badinput_decl_kind.lua"

# an untyped param: the unknown preset is only found when the cell builds
# its lab; the cell is an error at the scenario's own line, with the known
# presets, again without an errno text; the run goes on
"$bin" doctor >/dev/null 2>&1 || { echo "skip: the build-time preset case needs a lab"; exit 0; }
expect 1 'badinput_preset.lua:9: node:nat: unknown NAT preset "bogus" \(known: open,' \
  -- "$bin" run "$fx/badinput_preset.lua" -p nat=bogus --out "$work/r1"
grep -q "No such file" "$work"/r1/*/cells.jsonl && fail "the cell's message has a stale errno text"
echo ok
