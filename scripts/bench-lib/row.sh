# scripts/bench: one row run (start the proxy, warm up, measure, check, stop) and its retries (sourced).

ROWS=()      # one per (kind, proxy, round): "kind|proxy|round|rps|p50|p99|rss_idle|rss|cpu|others|flags|notes"
FLAGGED=0
LOGINFO=()   # per logging run kept: its access log's statuses and sample lines
LAST_ROW="" LAST_FLAGGED=0 LAST_OTHERS=0 LAST_LOGINFO=()   # bench_one's results

bench_one() { # bench_one KIND PROXY ROUND ATTEMPT: start the proxy, warm up, measure, stop it
  local kind=$1 proxy=$2 round=$3 name="$2-$1-r$3" to pid rsspid port url body_len log=""
  (( ${4:-0} == 0 )) || name+="-a$4"   # a retry gets files of its own
  local flags=() notes=() t0 t1 c0 c1 u0 u1 w0 w1 b0 b1 s0 s1 steal rps p50 p99 non2xx sockerr total warm_total
  local rss rss_idle cpu others lines statuses bad499 complaints w
  local bytes=$BODY_BYTES curl_tls=() in_flight=$CONNECTIONS
  local tos=()   # edge's --to flags
  case $kind in
    unix) to="unix:$UP_SOCK"; tos=(--to "$to") ;;
    pool2) to="127.0.0.1:$UP_PORT"; tos=(--to "127.0.0.1:$UP_PORT" --to "127.0.0.1:$UP_PORT2") ;;
    *) to="127.0.0.1:$UP_PORT"; tos=(--to "$to") ;;
  esac
  port=${PORT[$proxy]:-}
  url="http://127.0.0.1:$port/"
  [[ $kind == cache-hit ]] && url="http://127.0.0.1:$port/cached"
  if is_file_kind "$kind"; then
    bytes=${FILE_BYTES[$kind]}
    url="http://127.0.0.1:$port$(file_path "$kind")"
  fi
  if is_tls_kind "$kind"; then
    url="https://127.0.0.1:$port/"
    curl_tls=(-k)
    in_flight=$TLS_CONNECTIONS
    [[ $kind == h2 ]] && { curl_tls+=(--http2); in_flight=$(( H2_CLIENTS * H2_STREAMS )); }
  fi

  case $proxy in
    nginx)
      if is_file_kind "$kind"; then write_static_nginx_conf "$name"
      elif is_tls_kind "$kind"; then write_tls_nginx_conf "$kind" "$name"
      elif [[ $kind == cache-hit ]]; then write_cache_nginx_conf "$name"
      else write_proxy_nginx_conf "$kind" "$name"; fi
      run_nginx "$name" "$PROXY_CPU"
      log=$WORK/$name-access.log ;;
    edge)
      log=$WORK/$name-access.log
      if is_file_kind "$kind" || is_tls_kind "$kind"; then
        if is_file_kind "$kind"; then write_static_edge_conf "$name" "$log"; else write_tls_edge_conf "$name" "$log"; fi
        start "$name" "$PROXY_CPU" node "$ROOT/bin/edge.js" run -c "$WORK/$name.yaml" --workers "$WORKERS"
      else
        local cache=()
        [[ $kind == cache-hit ]] && cache=(--cache 64MB)
        start "$name" "$PROXY_CPU" node "$ROOT/bin/edge.js" --domain "$HOST" "${tos[@]}" "${cache[@]}" --tls off --admin off \
          --http-port "$port" --bind 127.0.0.1 --access-log "$log" --log-format combined --workers "$WORKERS"
      fi ;;
    bare) start "$name" "$PROXY_CPU" node "$LIB/bare-http-proxy-3.ts" "$port" "$to" ;;
    node) start "$name" "$PROXY_CPU" node "$LIB/node-http-proxy.ts" "$port" "$to" ;;
    floor) start "$name" "$PROXY_CPU" node "$LIB/node-floor.ts" "$port" "$to" ;;
    undici) start "$name" "$PROXY_CPU" node "$LIB/bare-undici.ts" "$port" "$to" ;;
    caddy | haproxy) run_peer "$proxy" "$kind" "$name" ;;
    *) die "unknown proxy '$proxy' in BENCH_PROXIES (known: $KNOWN_PROXIES)" ;;
  esac
  pid=$STARTED_PID
  wait_ready "$name" "$pid" "$url" -H "Host: $HOST" "${curl_tls[@]}"
  rsspid=$pid
  # one nginx worker is measured alone; with several, the master and its workers together
  [[ $proxy == nginx ]] && (( WORKERS == 1 )) && rsspid=$(nginx_worker "$pid")

  body_len=$(curl -s "${curl_tls[@]}" --max-time 5 -H "Host: $HOST" "$url" | wc -c)
  (( body_len == bytes )) || flags+=("body ${body_len} B, not ${bytes}")
  if [[ $kind == cache-hit ]]; then   # the first request stored it: from now on, hits only
    curl -s -o /dev/null -D "$WORK/$name.hit-headers.txt" --max-time 5 -H "Host: $HOST" "$url" || true
    grep -qiE '^(x-cache-status: HIT|cache-status: edge; hit)' "$WORK/$name.hit-headers.txt" \
      || flags+=("second request not a cache hit: $(grep -iE '^(x-)?cache-status' "$WORK/$name.hit-headers.txt" | tr -d '\r')")
  fi
  rss_idle=$(rss_mib "$rsspid")   # started and answered its first requests, no load yet

  note "round $round/$ROUNDS, $kind upstream, $proxy: ${WARMUP}s warm-up, ${DURATION}s measured"
  if (( WARMUP > 0 )); then
    load_run "$kind" "$WARMUP" "$url" "$WORK/$name.warmup.txt" || flags+=("warm-up load failed")
  fi
  warm_total=$(load_total "$kind" "$WORK/$name.warmup.txt")

  c0=$(tree_ticks "$rsspid"); u0=$(( $(cpu_ticks "$UP_PID") + $(cpu_ticks "$UP_WORKER") ))
  w0=$(children_ticks); b0=$(busy_ticks); s0=$(steal_ticks); t0=$(date +%s.%N)
  w=$WORK/$name.wrk.txt
  load_run "$kind" "$DURATION" "$url" "$w" || flags+=("load generator failed (exit $?)")
  t1=$(date +%s.%N); s1=$(steal_ticks); b1=$(busy_ticks); w1=$(children_ticks)
  c1=$(tree_ticks "$rsspid"); u1=$(( $(cpu_ticks "$UP_PID") + $(cpu_ticks "$UP_WORKER") ))
  rss=$(rss_mib "$rsspid")
  # percent of one core: the proxy's own CPU, and what everything else on the machine used (all
  # busy time minus proxy, upstream and wrk): other programs running at the same time skew a run
  read -r cpu others steal < <(awk -v hz="$CLK_TCK" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
    -v p=$(( c1 - c0 )) -v o=$(( (b1 - b0) - (c1 - c0) - (u1 - u0) - (w1 - w0) )) -v st=$(( s1 - s0 )) \
    'BEGIN { printf "%.0f %.0f %.0f\n", 100 * p / hz / t, (o < 0 ? 0 : 100 * o / hz / t), 100 * st / hz / t }')
  cpu="$cpu%"; alive "$rsspid" || cpu="?"   # it died: its CPU time went with it
  (( others >= NOISY_PCT )) && notes+=("others used ${others}% CPU")
  (( steal >= NOISY_PCT / 4 )) && notes+=("VM host stole ${steal}% CPU")

  parse_load "$kind" "$w"
  [[ -n $rps && -n $p50 && -n $p99 ]] || { flags+=("no load result"); sed 's/^/  | /' "$w" >&2 || true; }
  if [[ -n $non2xx && $non2xx != 0 ]]; then flags+=("$non2xx non-2xx/3xx of ${total:-?}"); fi
  if [[ -n $sockerr && $sockerr != 0 ]]; then
    flags+=("socket errors: $(awk '/Socket errors/ {sub(/^ *Socket errors: /, ""); print} /^requests:/ {print $10, $11, $12, $13, $14, $15}' "$w")")
  fi
  if ! alive "$pid" || ! alive "$rsspid"; then
    flags+=("PROXY DIED")
    sed 's/^/  | /' "$WORK/$name.out" | tail -20 >&2 || true
  fi

  stop_pid "$pid"   # graceful: edge flushes its access log on the way out

  if [[ -n $log ]]; then
    lines=$(wc -l <"$log" 2>/dev/null || echo 0)
    # every request the load generator counted (warm-up and run) must be in the log
    if (( lines < ${warm_total:-0} + ${total:-0} )); then
      flags+=("access log has $lines lines for $(( ${warm_total:-0} + ${total:-0} )) requests")
    fi
    # 200 for everything, but for the requests in flight when the load stops (499, client closed)
    statuses=$(log_statuses "$log")
    bad499=$(awk -F'"' '{ split($3, a, " ") } a[1] == 499 { n++ } END { print n + 0 }' "$log")
    if [[ $(awk -F'"' '{ split($3, a, " ") } a[1] != 200 && a[1] != 499 { n++ } END { print n + 0 }' "$log") != 0 ]] \
      || (( bad499 > 2 * in_flight + 1 )); then
      flags+=("access log statuses: $statuses")
    fi
    LAST_LOGINFO+=("$proxy, $kind upstream, round $round: $lines lines, statuses $statuses")
    LAST_LOGINFO+=("    $(grep -m1 '" 200 ' "$log" || true)")
    if (( bad499 > 0 )); then LAST_LOGINFO+=("    $(grep -m1 '" 499 ' "$log" || true)"); fi
  fi
  # anything the proxy itself complained about (edge prints info lines too; only warn/error count)
  if [[ $proxy == nginx ]]; then
    complaints=$(grep -cE '\[(error|crit|alert|emerg)\]' "$WORK/$name-error.log" 2>/dev/null || true)
  else
    # edge and Caddy write JSON lines when not on a terminal, as here; HAProxy writes [WARNING]
    # (but Caddy's notes on the settings this bench chose: no admin API, no HTTPS, and its goodbye)
    complaints=$(grep -iE '(^|[[:space:]])(warn|error|fatal)([[:space:]:]|$)|Error:|"level":"(warn|error)"|\[(WARNING|ALERT)\]' "$WORK/$name.out" 2>/dev/null \
      | grep -cvE '"msg":"(admin endpoint disabled|automatic HTTPS is completely disabled for server|exiting; byeee|Caddyfile input is not formatted)' || true)
  fi
  if [[ ${complaints:-0} != 0 ]]; then
    flags+=("$complaints error/warn lines in its output")
    note "$name output:"
    grep -hiE 'warn|error|fatal|\[(crit|alert|emerg)\]' "$WORK/$name.out" "$WORK/$name-error.log" 2>/dev/null | head -10 >&2 || true
  fi

  note "  $name: ${rps:-?} req/s, p50 ${p50:-?} ms, p99 ${p99:-?} ms, proxy CPU ${cpu}, others ${others}%, steal ${steal}%"
  if (( ${#flags[@]} )); then FLAGGED=1; note "  $name FLAGGED: $(joined "${flags[@]}")"; fi
  LAST_FLAGGED=${#flags[@]}
  LAST_OTHERS=$(( others > 4 * steal ? others : 4 * steal ))   # 5% stolen counts like 20% used
  LAST_ROW="$kind|$proxy|$round|${rps:-0}|${p50:-?}|${p99:-?}|$rss_idle|$rss|$cpu|$others|$(IFS=';'; echo "${flags[*]}")|$(IFS=';'; echo "${notes[*]}")"
}

wait_quiet() { # wait up to QUIET_WAIT s for a second in which other programs use < NOISY_PCT/2 % CPU
  local i b0 b1 pct
  (( QUIET_WAIT > 0 )) || return 0
  for (( i = 0; i < QUIET_WAIT; i++ )); do
    b0=$(busy_ticks); sleep 1; b1=$(busy_ticks)
    pct=$(( 100 * (b1 - b0) / CLK_TCK ))
    (( pct < NOISY_PCT / 2 )) && { (( i == 0 )) || note "machine quiet after ${i}s"; return 0; }
    (( i == 0 )) && note "machine busy (${pct}% of a core used by other programs): waiting up to ${QUIET_WAIT}s"
  done
  note "machine still busy; measuring anyway"
}

bench_cell() { # bench_cell KIND PROXY ROUND: bench_one, again (up to RETRIES times) while runs are noisy
  local attempt best_row="" best_others="" best_info=()
  for (( attempt = 0; attempt <= RETRIES; attempt++ )); do
    (( attempt == 0 )) || note "that run was noisy; again (attempt $(( attempt + 1 )) of $(( RETRIES + 1 )))"
    wait_quiet
    LAST_LOGINFO=()
    bench_one "$@" "$attempt"
    if [[ -z $best_others ]] || (( LAST_OTHERS < best_others )) || (( LAST_FLAGGED )); then
      best_row=$LAST_ROW; best_others=$LAST_OTHERS; best_info=("${LAST_LOGINFO[@]}")
    fi
    (( LAST_FLAGGED )) && break        # an error is reported, never retried away
    (( LAST_OTHERS < NOISY_PCT )) && break
  done
  ROWS+=("$best_row")
  LOGINFO+=("${best_info[@]}")
}
