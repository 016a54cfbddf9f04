# Helpers shared by tests/cli/sip_*.sh (sourced, not a test by itself):
# the SIP packages a test needs (skip, 77, naming them), and one
# `natlab run` of scenarios/sip.lua whose record the test then reads.
set -u
bin=${NATLAB_BIN_DIR:?}/natlab
src=${NATLAB_SOURCE_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }

export PATH=$PATH:/usr/sbin # kamailio lives in /usr/sbin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# sip_need program:package ... [kamailio-module:package ...]: exit 77 naming
# the Debian packages of what is missing (a "mod/NAME" is kamailio's module)
sip_need() {
  local missing="" p name
  for p in "$@"; do
    name=${p%%:*}
    case "$name" in
      mod/*) ls /usr/lib/*/kamailio/modules/"${name#mod/}".so >/dev/null 2>&1 ||
               missing="$missing ${p#*:}" ;;
      *) command -v "${p%%:*}" >/dev/null 2>&1 || missing="$missing ${p#*:}" ;;
    esac
  done
  if [ -n "$missing" ]; then
    echo "SIP packages not installed:$missing (scripts/install-deps --sip): skipped"; exit 77
  fi
}

# sip_run NAME natlab-run-arguments...: run scenarios/sip.lua into
# $out/NAME (its cells in $out/NAME/latest/cells.jsonl); exit 77 where the
# sandbox cannot be made, fail on any other non-zero exit
sip_run() {
  local d=$out/$1 rc
  shift
  "$bin" run "$src/scenarios/sip.lua" "$@" --out "$d" >"$d.log" 2>&1
  rc=$?
  if grep -q "run natlab as root\|user namespace" "$d/latest/cells.jsonl" 2>/dev/null; then
    echo "no sandbox here: skipped"; exit 77
  fi
  [ "$rc" = 0 ] || fail "exit $rc: $(tail -20 "$d.log")"
}
