# scripts/bench: CPU time, memory and load-generator runs (sourced).

cpu_ticks() { # utime+stime of all its threads; 0 once it is gone
  { sed 's/.*) //' /proc/"$1"/stat 2>/dev/null || true; } | awk '{t = $12 + $13} END {print t + 0}'
}
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }
tree_ticks() { # tree_ticks PID: cpu_ticks of PID and its children (a supervisor or master and its workers)
  local t c
  t=$(cpu_ticks "$1")
  for c in $(children_of "$1"); do t=$(( t + $(cpu_ticks "$c") )); done
  echo "$t"
}
children_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }   # this shell's reaped children: wrk
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4; exit}' /proc/stat; }   # user+nice+system, all CPUs
steal_ticks() { awk '$1 == "cpu" {print $9; exit}' /proc/stat; }   # time the VM's host took away
rss_mib() { # rss_mib PID: VmRSS of PID and its children, in MiB
  local c files=(/proc/"$1"/status)
  for c in $(children_of "$1"); do files+=(/proc/"$c"/status); done
  awk '/^VmRSS:/ {kb += $2; n++} END {if (n) printf "%.1f", kb / 1024; else print "?"}' "${files[@]}" 2>/dev/null || echo "?"
}

to_ms() { # wrk latency ("812.00us", "1.23ms", "1.02s", "2.00m") -> ms with 2 decimals
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.2f", n }'
}

wrk_run() { # wrk_run SECONDS URL [OUT [CONNECTIONS [WRK ARGS...]]]: wrk on the load CPU, bounded by timeout as well
  local secs=$1 url=$2 out=${3:-/dev/null} conns=${4:-$CONNECTIONS}
  shift $(( $# < 4 ? $# : 4 ))
  timeout $(( secs + 30 )) taskset -c "$LOAD_CPU" \
    wrk -t"$THREADS" -c"$conns" -d"${secs}s" --latency -H "Host: $HOST" "$@" "$url" >"$out" 2>&1
}

h2load_run() { # h2load_run SECONDS URL [OUT]: h2load (HTTP/2) on the load CPU; OUT.requests gets each request's latency
  local secs=$1 url=$2 out=${3:-/dev/null} log=/dev/null
  [[ $out != /dev/null ]] && log=$out.requests
  timeout $(( secs + 30 )) taskset -c "$LOAD_CPU" \
    h2load -t"$THREADS" -c"$H2_CLIENTS" -m"$H2_STREAMS" -D"$secs" -H ":authority: $HOST" --log-file="$log" "$url" >"$out" 2>&1
}

load_run() { # load_run KIND SECONDS URL OUT: the load generator and settings of that kind of row
  case $1 in
    h2) h2load_run "$2" "$3" "$4" ;;
    tls-new) wrk_run "$2" "$3" "$4" "$TLS_CONNECTIONS" -H "Connection: close" ;;
    *) wrk_run "$2" "$3" "$4" ;;
  esac
}

load_total() { # load_total KIND OUT: requests completed in that run
  if [[ $1 == h2 ]]; then awk '/^requests:/ {print $8}' "$2" 2>/dev/null || true
  else awk '/requests in/ {print $1}' "$2" 2>/dev/null || true; fi
}

# parse_load KIND OUT: sets rps, p50, p99 (ms), total, non2xx and sockerr from a run's output
parse_load() {
  local kind=$1 w=$2
  if [[ $kind == h2 ]]; then
    rps=$(awk '/^finished in/ {gsub(/,/, "", $4); printf "%.0f", $4}' "$w")
    total=$(load_total h2 "$w")
    non2xx=$(awk '/^status codes:/ {print $5 + $7 + $9}' "$w")
    sockerr=$(awk '/^requests:/ {print $10 + $12 + $14}' "$w")   # failed, errored, timeout
    # h2load prints no percentiles: they come from its per-request log (microseconds, 3rd column)
    read -r p50 p99 < <(cut -f3 "$w.requests" 2>/dev/null | sort -n | awk '{v[NR] = $1}
      END { if (!NR) exit; i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f %.2f\n", v[int((NR + 1) / 2)] / 1000, v[i] / 1000 }') || true
  else
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$w")
    p50=$(awk '$1 == "50%" {print $2}' "$w"); p99=$(awk '$1 == "99%" {print $2}' "$w")
    [[ -n $p50 ]] && p50=$(to_ms "$p50"); [[ -n $p99 ]] && p99=$(to_ms "$p99")
    total=$(load_total "$kind" "$w")
    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' "$w")
    sockerr=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$w")
  fi
}

log_statuses() { # log_statuses FILE: "200x123 499x64" from a combined-format access log
  awk -F'"' '{ split($3, a, " "); n[a[1]]++ } END { for (s in n) printf "%s %sx%d\n", s, s, n[s] }' "$1" \
    | sort -n | awk '{printf "%s%s", sep, $2; sep = " "}'
}
