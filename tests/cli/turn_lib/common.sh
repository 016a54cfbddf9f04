# Helpers shared by tests/cli/turn_*.sh (sourced, not a test by itself).
# Every process is started in the background, remembered by PID, and
# killed and reaped by the EXIT trap; every wait polls with a deadline.
set -u
BIN=${NATLAB_BIN_DIR:?NATLAB_BIN_DIR not set}
TMP=$(mktemp -d /tmp/natlab-turn-test.XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || { echo "skip: $1 not installed" >&2; exit 77; }; }

# a port base in 20000-29999 for this run (each test uses BASE..BASE+9)
BASE=$((20000 + (RANDOM % 1000) * 10))

# wait_for FILE REGEX SECONDS
wait_for() {
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt "$end" ]; do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# start_natlab NAME OFFSET ARGS... : natlab-turn-server on BASE+OFFSET,
# output in $TMP/NAME.out; when the port is taken (another run), tries
# other ports above 30000. Sets PORT.
start_natlab() {
  local name=$1 off=$2; shift 2
  PORT=$((BASE + off))
  for _ in 1 2 3 4 5; do
    "$BIN/natlab-turn-server" --listen 127.0.0.1:$PORT "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    local pid=$!
    PIDS+=("$pid")
    local end=$((SECONDS + 5))
    while [ $SECONDS -lt $end ] && kill -0 "$pid" 2>/dev/null; do
      grep -q '"ev":"ready"' "$TMP/$name.out" 2>/dev/null && return 0
      sleep 0.05
    done
    PORT=$((30000 + RANDOM % 20000))
  done
  cat "$TMP/$name.err" >&2
  fail "natlab-turn-server did not start"
}

# start_peer PORT : coturn's UDP echo peer
start_peer() {
  turnutils_peer -L 127.0.0.1 -p "$1" >"$TMP/peer$1.out" 2>&1 &
  PIDS+=("$!")
}

# json_field FILE EV FIELD : the value of FIELD in the last EV event
json_field() {
  grep "\"ev\":\"$2\"" "$1" | tail -n 1 | sed -n "s/.*\"$3\":\\(\"[^\"]*\"\\|[^,}]*\\).*/\\1/p" | tr -d '"'
}
