#!/usr/bin/env bash
# The natlab command: clear messages and exit codes for bad input, and a
# doctor that passes on a machine without sch_netem.
set -u
natlab="$NATLAB_BIN_DIR/natlab"
fails=0
check() { # check NAME EXPECTED_STATUS PATTERN -- CMD...
	local name=$1 want=$2 pat=$3; shift 4
	local out status
	out=$("$@" 2>&1); status=$?
	if [ "$status" -ne "$want" ]; then
		echo "FAIL $name: exit $status, want $want; output:"; echo "$out"; fails=$((fails+1)); return
	fi
	if ! grep -qE "$pat" <<<"$out"; then
		echo "FAIL $name: output lacks /$pat/:"; echo "$out"; fails=$((fails+1)); return
	fi
	echo "ok   $name"
}
check "unknown command"        2 "unknown command 'frobnicate'.*natlab help" -- "$natlab" frobnicate
check "no command shows usage" 2 "usage: natlab COMMAND" -- "$natlab"
check "help lists doctor"      0 "doctor" -- "$natlab" help
check "doctor takes no args"   2 "unexpected argument 'x'" -- "$natlab" doctor x
# a missing file given by path: named as a file, no scenario-folder guesses
check "run /abs/missing.lua"   2 "no scenario file '/nonexistent/missing.lua': No such file" -- "$natlab" run /nonexistent/missing.lua
if "$natlab" run /nonexistent/missing.lua 2>&1 | grep -q "tried"; then
	echo "FAIL run /abs/missing.lua: the message guesses scenario folders"; fails=$((fails+1))
fi
if [ "$(id -u)" -eq 0 ] || unshare -Urn true 2>/dev/null; then
	check "doctor passes here"  0 "The lab can run here" -- "$natlab" doctor
	# the NAT engine keeps its mappings in dynamic maps (map + dynamic +
	# timeout): that is what must be probed and named
	check "doctor: dynamic maps probed" 0 "^ok +nftables dynamic maps +works" -- "$natlab" doctor
	# tbf and htb: nothing uses them, so present or absent they are
	# information, never MISSING
	check "doctor: tbf informational" 0 "^(ok|info) +qdisc tbf +(present|absent), not needed" -- "$natlab" doctor
	check "doctor: htb informational" 0 "^(ok|info) +qdisc htb +(present|absent), not needed" -- "$natlab" doctor
	if ! grep -q '^sch_netem' /proc/modules 2>/dev/null && [ ! -d /sys/module/sch_netem ]; then
		check "doctor: netem absent is not fatal" 0 "^info +qdisc netem +absent, not needed" -- "$natlab" doctor
	fi
else
	echo "skip doctor checks: neither root nor user namespaces here"
fi
[ "$fails" -eq 0 ] || exit 1
