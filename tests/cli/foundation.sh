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
if [ "$(id -u)" -eq 0 ] || unshare -Urn true 2>/dev/null; then
	check "doctor passes here"  0 "The lab can run here" -- "$natlab" doctor
	if ! grep -q '^sch_netem' /proc/modules 2>/dev/null && [ ! -d /sys/module/sch_netem ]; then
		check "doctor: netem absent is not fatal" 0 "netem +absent" -- "$natlab" doctor
	fi
else
	echo "skip doctor checks: neither root nor user namespaces here"
fi
[ "$fails" -eq 0 ] || exit 1
