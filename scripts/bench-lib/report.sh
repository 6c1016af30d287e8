# scripts/bench: the markdown report (sourced).

label() {
  case $1 in
    nginx) echo "nginx" ;;
    edge) echo "edge (access log)" ;;
    bare) echo "bare http-proxy-3" ;;
    node) echo "node:http proxy" ;;
    floor) echo "node:http floor (stored response, nothing else)" ;;
    undici) echo "bare undici proxy (Pool.stream)" ;;
    caddy) echo "Caddy (no access log)" ;;
    haproxy) echo "HAProxy (no access log)" ;;
  esac
}

median_row() { # median_row KIND PROXY: the row of the round with the median req/s (lower middle)
  local r n=0 rows=()
  for r in "${ROWS[@]}"; do
    IFS='|' read -r k p _ <<<"$r"
    [[ $k == "$1" && $p == "$2" ]] && rows+=("$r")
  done
  (( ${#rows[@]} )) || return 0
  printf '%s\n' "${rows[@]}" | sort -t'|' -k4,4n | sed -n "$(( (${#rows[@]} + 1) / 2 ))p"
}
all_rps() { # all_rps KIND PROXY: "3310 3542 3490" in round order
  local r out=()
  for r in "${ROWS[@]}"; do
    IFS='|' read -r k p _ rps _ <<<"$r"
    [[ $k == "$1" && $p == "$2" ]] && out+=("$rps")
  done
  echo "${out[*]}"
}
all_flags() { # all_flags KIND PROXY: every round's flags and notes, "r2: ..." style when ROUNDS > 1
  local r f=() n=() pre
  for r in "${ROWS[@]}"; do
    IFS='|' read -r k p rd _ _ _ _ _ _ _ fl no <<<"$r"
    [[ $k == "$1" && $p == "$2" ]] || continue
    pre=""; (( ROUNDS > 1 )) && pre="r$rd: "
    [[ -n $fl ]] && f+=("$pre$fl")
    [[ -n $no ]] && n+=("$pre$no")
  done
  if (( ${#f[@]} )); then echo "FLAGGED: $(joined "${f[@]}")"
  elif (( ${#n[@]} )); then echo "ok, noisy: $(joined "${n[@]}")"
  else echo ok; fi
}
rps_of() { median_row "$1" "$2" | cut -d'|' -f4; }
target_line() { # target_line KIND OTHER MIN WHAT: "- KIND: edge is 0.87x WHAT: meets the MINx target", if both ran
  local e o verdict="BELOW" caveat=""
  e=$(rps_of "$1" edge); o=$(rps_of "$1" "$2")
  [[ -n $e && -n $o && $o != 0 ]] || return 0
  awk -v e="$e" -v o="$o" -v m="$3" 'BEGIN { exit !(e >= m * o) }' && verdict="meets"
  [[ "$(all_flags "$1" edge)$(all_flags "$1" "$2")" == okok ]] || caveat=" (see the status column)"
  echo "- $1: edge is $(ratio "$e" "$o") $4: $verdict the ${3}x target$caveat"
}
peer_versions() { # ", Caddy v2.6.2, HAProxy 2.6.12, h2load 1.52.0, undici 7.1.0" for the tools this run used
  local out=""
  [[ " $PROXIES " == *" caddy "* ]] && out+=", Caddy $(caddy version 2>/dev/null | awk '{print $1}')"
  [[ " $PROXIES " == *" haproxy "* ]] && out+=", HAProxy $(haproxy -v 2>/dev/null | awk 'NR == 1 {print $3}')"
  [[ " $UPSTREAMS " == *" h2 "* ]] && out+=", h2load $(h2load --version 2>/dev/null | awk '{print $2}' | sed 's/^nghttp2\///')"
  [[ " $PROXIES " == *" undici "* ]] && out+=", undici $(node -p 'require(process.argv[1]).version' "$ROOT/node_modules/undici/package.json")"
  echo "$out"
}
ratio() { # ratio A B -> "0.87x" or "–"
  if [[ -z $1 || -z $2 || $2 == 0 ]]; then echo "–"; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; fi
}

report() {
  local k p r rps p50 p99 rss rss_idle cpu others e b n u f rounds_col="" rounds_head="" rounds_sep=""
  echo
  echo "## edge reverse-proxy, static-file and TLS benchmark"
  echo
  echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), $NCPU CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
  echo "- Node $NODE_VERSION, $NGINX_VERSION, wrk $WRK_VERSION, http-proxy-3 $HP3_VERSION, edge $EDGE_REV$(peer_versions)"
  echo "- load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency after a ${WARMUP}s warm-up, ${BODY_BYTES} B responses;" \
    "proxy on CPU $PROXY_CPU, wrk + upstream nginx on CPU $LOAD_CPU"
  [[ $UPSTREAMS == *cache-hit* ]] && echo "- cache-hit: nginx proxy_cache vs edge --cache 64MB, every request a hit on one 1 KiB response (max-age=3600)"
  [[ $UPSTREAMS == *pool2* ]] && echo "- pool2: two upstreams (the same upstream nginx on two TCP ports), round robin: nginx's upstream block with two servers, edge's --to twice, Caddy's and HAProxy's lists of two"
  (( WORKERS > 1 )) && echo "- workers: $WORKERS (edge --workers $WORKERS, nginx worker_processes $WORKERS); CPU and RSS summed over each proxy's processes"
  [[ $UPSTREAMS == *file-* ]] && echo "- file-1k, file-1m: no upstream; nginx (sendfile on, open_file_cache) and edge (static:) serve the same 1 KiB and 1 MiB files"
  [[ $UPSTREAMS == *h2* ]] && echo "- h2: HTTP/2 over TLS to nginx (listen ssl http2) and edge (tls: cert files), tcp upstream; h2load -c$H2_CLIENTS -m$H2_STREAMS -D${DURATION}s (p50/p99 from its per-request log)"
  [[ $UPSTREAMS == *tls-new* ]] && echo "- tls-new: a new TLS connection (full handshake) per request: wrk -c$TLS_CONNECTIONS -H 'Connection: close' over HTTPS, tcp upstream"
  [[ $UPSTREAMS =~ h2|tls-new ]] && echo "- TLS rows: nginx and edge serve the same self-signed ECDSA P-256 certificate"
  echo "- RSS idle: the proxy's VmRSS once started and ready, before any load; RSS load: right after the measured run"
  local s
  for s in "${SKIPPED[@]}"; do echo "- skipped: $s"; done
  if (( ROUNDS > 1 )); then
    echo "- $ROUNDS rounds: each row is the round with the median req/s; all rounds' req/s in the last column"
    rounds_head=" req/s each round |"; rounds_sep="---|"
  fi
  echo
  echo "| upstream/file | proxy | req/s | p50 ms | p99 ms | RSS idle MiB | RSS load MiB | CPU | vs nginx | vs bare | vs undici | status |$rounds_head"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|$rounds_sep"
  for k in $UPSTREAMS; do
    for p in $PROXIES; do
      r=$(median_row "$k" "$p"); [[ -n $r ]] || continue
      IFS='|' read -r _ _ _ rps p50 p99 rss_idle rss cpu others _ <<<"$r"
      (( ROUNDS > 1 )) && rounds_col=" $(all_rps "$k" "$p") |"
      echo "| $k | $(label "$p") | $rps | $p50 | $p99 | $rss_idle | $rss | $cpu | $(ratio "$rps" "$(rps_of "$k" nginx)") |" \
        "$(ratio "$rps" "$(rps_of "$k" bare)") | $(ratio "$rps" "$(rps_of "$k" undici)") | $(all_flags "$k" "$p") |$rounds_col"
    done
  done
  echo
  for k in $UPSTREAMS; do
    e=$(rps_of "$k" edge); b=$(rps_of "$k" bare)
    [[ -n $e && -n $b && $b != 0 ]] || continue
    local verdict="BELOW the 0.9x target" caveat=""
    awk -v e="$e" -v b="$b" 'BEGIN { exit !(e >= 0.9 * b) }' && verdict="meets the 0.9x target"
    [[ "$(all_flags "$k" edge)$(all_flags "$k" bare)" == okok ]] || caveat=" (see the status column)"
    echo "- $k upstream: edge is $(ratio "$e" "$b") bare http-proxy-3: $verdict$caveat"
  done
  for k in $UPSTREAMS; do
    case $k in
      tcp | unix | pool2) target_line "$k" node 1.5 "the node:http proxy"; target_line "$k" undici 0.9 "the bare undici proxy" ;;
      cache-hit) target_line "$k" floor 0.9 "the node:http floor" ;;
      h2) target_line "$k" nginx 0.3 "nginx over HTTP/2" ;;
      tls-new) target_line "$k" nginx 0.75 "nginx's rate of new TLS connections" ;;
    esac
  done
  local idle_max=0 load_max=0
  for r in "${ROWS[@]}"; do
    IFS='|' read -r _ p _ _ _ _ rss_idle rss _ <<<"$r"
    [[ $p == edge ]] || continue
    idle_max=$(awk -v a="$idle_max" -v b="$rss_idle" 'BEGIN { print (b + 0 > a + 0 ? b : a) }')
    load_max=$(awk -v a="$load_max" -v b="$rss" 'BEGIN { print (b + 0 > a + 0 ? b : a) }')
  done
  if [[ $idle_max != 0 ]]; then
    local per=""; (( WORKERS > 1 )) && per=" (summed over its $(( WORKERS + 1 )) processes)"
    echo "- RSS: edge at most $idle_max MiB idle and $load_max MiB after load$per; targets per process: 64 MiB idle, 96 MiB after load"
  fi
  for k in $UPSTREAMS; do
    [[ $k == cache-hit ]] || continue
    e=$(rps_of "$k" edge); n=$(rps_of "$k" nginx)
    [[ -n $e && -n $n && $n != 0 ]] || continue
    local target="BELOW the 1.0x target"
    awk -v e="$e" -v n="$n" 'BEGIN { exit !(e >= n) }' && target="meets the 1.0x target"
    echo "- cache-hit: edge answers cache hits at $(ratio "$e" "$n") nginx proxy_cache's rate: $target"
    f=$(rps_of "$k" floor)
    [[ -n $f ]] && echo "- cache-hit: node:http answering a stored response and nothing else reaches $(ratio "$f" "$n") nginx's rate; edge is at $(ratio "$e" "$f") of that floor"
  done
  for k in $UPSTREAMS; do
    is_file_kind "$k" || continue
    e=$(rps_of "$k" edge); n=$(rps_of "$k" nginx)
    [[ -n $e && -n $n && $n != 0 ]] || continue
    echo "- $k: edge serves it at $(ratio "$e" "$n") nginx's rate ($(awk -v r="$e" -v b="${FILE_BYTES[$k]}" 'BEGIN { printf "%.0f", r * b / 1048576 }') MiB/s vs $(awk -v r="$n" -v b="${FILE_BYTES[$k]}" 'BEGIN { printf "%.0f", r * b / 1048576 }') MiB/s of body)"
  done
  if (( ${#LOGINFO[@]} )); then
    echo
    echo "Access logs (499 = client closed mid-response: the requests in flight when the load stops):"
    echo
    printf '    %s\n' "${LOGINFO[@]}"
  fi
}

