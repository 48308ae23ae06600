# bench/lib.sh — what the bench scripts share: logging, background processes
# stopped on exit, free ports, waiting, and a process's CPU ticks.
# Sourced; the script sets $work (its scratch dir) and ok=1 on success.

say() { printf '\033[1m[bench %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- processes: every one started is stopped on exit --------------------------
pids=()
ok=0
stop() { # stop PID: TERM, up to 10 s, then KILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
forget() { # forget PID: it was waited for (its number may be reused)
  local keep=() p
  for p in ${pids[@]+"${pids[@]}"}; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=(${keep[@]+"${keep[@]}"})
}
stop_all() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do stop "$pid"; done
  pids=()
}
cleanup() {
  stop_all
  [ -n "${work:-}" ] || return 0
  if ((ok)) && [ -z "${ONAIR_BENCH_KEEP:-}" ]; then rm -rf "$work"; else say "logs kept in $work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start LOG CMD...: run CMD in the background, its output in LOG; sets $pid.
start() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
}

# free_port: a port nobody listens on (outside the ephemeral range).
free_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 10000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port"
}

# wait_for SECONDS WHAT CMD...: until CMD succeeds, at most SECONDS.
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$what: not ready after ${secs}s"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_200() { [ "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1" || true)" = 200 ]; }
alive() { kill -0 "$1" 2>/dev/null || die "$2 exited: $(tail -5 "$3")"; }

# cpu_ticks PID: the process's user + system CPU, in clock ticks.
cpu_ticks() {
  local stat f
  stat=$(<"/proc/$1/stat")
  read -ra f <<<"${stat##*) }" # fields from the 3rd on (the name may hold spaces)
  echo $(( f[11] + f[12] ))
}
hz=$(getconf CLK_TCK)
