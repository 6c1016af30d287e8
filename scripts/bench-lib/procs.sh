# scripts/bench: starting, watching and stopping the processes under test, and stopping them all on exit (sourced; uses WORK, PIDS).

alive() { # alive PID: running, and not a zombie waiting to be reaped (kill -0 succeeds on those)
  local st
  st=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | cut -d' ' -f1) || true
  [[ -n $st && $st != Z ]]
}

stop_pid() { # stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL (children too)
  local pid=$1 kids i
  alive "$pid" || { wait "$pid" 2>/dev/null || true; forget_pid "$pid"; return 0; }
  kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
  kill -TERM "$pid" 2>/dev/null || true
  for (( i = 0; i < 100; i++ )); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    note "pid $pid did not stop on SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done   # e.g. an nginx worker it leaves
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}
forget_pid() { # a reaped pid may be reused by another program: never signal it again
  local p keep=()
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [[ ${BENCH_KEEP:-} == 1 ]]; then note "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # start NAME CPU CMD...: runs CMD pinned to CPU in the background, log in $WORK/NAME.out
  local name=$1 cpu=$2; shift 2
  taskset -c "$cpu" "$@" >"$WORK/$name.out" 2>&1 &
  STARTED_PID=$!   # taskset execs the command, so this is the server's own pid
  PIDS+=("$STARTED_PID")
}

wait_ready() { # wait_ready NAME PID URL [extra curl args]: poll until a 200, fail if PID dies
  local name=$1 pid=$2 url=$3 code i; shift 3
  for (( i = 0; i < 150; i++ )); do
    if ! alive "$pid"; then
      sed 's/^/  | /' "$WORK/$name.out" >&2 || true
      die "$name exited during startup (output above)"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" "$url" || true)
    [[ $code == 200 ]] && return 0
    sleep 0.1
  done
  sed 's/^/  | /' "$WORK/$name.out" >&2 || true
  die "$name did not answer 200 at $url within 15 s (last status '$code'; output above)"
}

free_ports() { # free_ports N: N distinct free TCP ports on 127.0.0.1
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]), servers = [];
    for (let i = 0; i < n; i++) servers.push(net.createServer().listen(0, "127.0.0.1"));
    Promise.all(servers.map((s) => new Promise((r) => s.on("listening", r)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    });' "$1"
}
