# scripts/bench: Caddy and HAProxy in front of the bench's upstream, configured as close to the
# nginx under test as each allows: one process pinned like it, a keep-alive pool to the upstream,
# round robin for pool2; no access log (HAProxy logs only to syslog or a pipe), hence their label.
# And the TLS rows' certificate, one ECDSA P-256 pair that nginx and edge both serve (sourced).

upstream_list() { # upstream_list KIND SEP UNIX_PREFIX: the upstream addresses of a kind
  case $1 in
    unix) echo "$3$UP_SOCK" ;;
    pool2) echo "127.0.0.1:$UP_PORT$2127.0.0.1:$UP_PORT2" ;;
    *) echo "127.0.0.1:$UP_PORT" ;;
  esac
}

write_caddy_conf() { # write_caddy_conf KIND NAME
  local kind=$1 name=$2
  # admin off: no admin endpoint on 2019; auto_https off: a plain-HTTP site, no certificates
  cat >"$WORK/$name.Caddyfile" <<EOF
{
  admin off
  auto_https off
}
http://$HOST:${PORT[caddy]} {
  bind 127.0.0.1
  reverse_proxy $(upstream_list "$kind" " " "unix/") {
    lb_policy round_robin
    transport http {
      keepalive_idle_conns_per_host 64
    }
  }
}
EOF
}

write_haproxy_conf() { # write_haproxy_conf KIND NAME
  local kind=$1 name=$2 i=0 server servers=""
  for server in $(upstream_list "$kind" " " ""); do
    i=$(( i + 1 ))
    servers+="  server s$i $server"$'\n'
  done
  cat >"$WORK/$name.haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend bench
  bind 127.0.0.1:${PORT[haproxy]}
  default_backend app
backend app
  balance roundrobin
$servers
EOF
}

run_peer() { # run_peer PROXY KIND NAME: start Caddy or HAProxy on the proxy CPU
  local proxy=$1 kind=$2 name=$3
  case $proxy in
    caddy)
      write_caddy_conf "$kind" "$name"
      # its data and config folders in the work dir, not the invoking user's home
      start "$name" "$PROXY_CPU" env HOME="$WORK/tmp" XDG_DATA_HOME="$WORK/tmp/caddy-data" XDG_CONFIG_HOME="$WORK/tmp/caddy-config" \
        caddy run --adapter caddyfile --config "$WORK/$name.Caddyfile" ;;
    haproxy)
      write_haproxy_conf "$kind" "$name"
      haproxy -c -q -f "$WORK/$name.haproxy.cfg" >"$WORK/$name.out" 2>&1 \
        || { sed 's/^/  | /' "$WORK/$name.out" >&2; die "haproxy config $WORK/$name.haproxy.cfg is invalid"; }
      start "$name" "$PROXY_CPU" haproxy -db -f "$WORK/$name.haproxy.cfg" ;;
  esac
}

TLS_DIR=$WORK/tls
write_tls_cert() { # the one certificate of the TLS rows: ECDSA P-256, self-signed, bench.local and 127.0.0.1
  mkdir -p "$TLS_DIR"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj "/CN=$HOST" \
    -addext "subjectAltName=DNS:$HOST,IP:127.0.0.1" -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" \
    >"$TLS_DIR/openssl.out" 2>&1 || { cat "$TLS_DIR/openssl.out" >&2; die "openssl could not make the TLS rows' certificate"; }
  chmod 644 "$TLS_DIR/key.pem"   # nginx's worker may run as another user
}
