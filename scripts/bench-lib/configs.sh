# scripts/bench: the configs of the upstream nginx and of nginx and edge under test, for every kind of row (sourced).

nginx_common() { # nginx_common NAME: main-context lines shared by both nginx instances
  local name=$1 workers=$WORKERS
  [[ $name == upstream ]] && workers=1
  (( EUID == 0 )) && echo "user root;"   # workers must reach the sockets in $WORK
  cat <<EOF
worker_processes $workers;
daemon off;
pid $WORK/$name.pid;
error_log $WORK/$name-error.log warn;
events { worker_connections 4096; }
EOF
}
nginx_temp_paths() {
  local name=$1 t
  for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $WORK/tmp/$name-$t;"; done
}

write_upstream_conf() {
  local body
  body=$(head -c "$BODY_BYTES" /dev/zero | tr '\0' 'x')
  {
    nginx_common upstream
    cat <<EOF
http {
  access_log off;
$(nginx_temp_paths upstream)
  keepalive_requests 1000000;   # never close the proxies' pooled connections mid-run
  server {
    listen 127.0.0.1:$UP_PORT;
    listen 127.0.0.1:$UP_PORT2;   # the second upstream of the pool2 rows
    listen unix:$UP_SOCK;
    default_type text/plain;
    location / { return 200 "$body"; }
    location /cached { add_header Cache-Control "max-age=3600" always; return 200 "$body"; }
  }
}
EOF
  } >"$WORK/upstream.conf"
}

write_proxy_nginx_conf() { # write_proxy_nginx_conf KIND NAME: the nginx under test, for tcp or unix
  local kind=$1 name=$2 server
  case $kind in
    tcp) server="127.0.0.1:$UP_PORT" ;;
    unix) server="unix:$UP_SOCK" ;;
    pool2) server="127.0.0.1:$UP_PORT;
    server 127.0.0.1:$UP_PORT2" ;;
  esac
  {
    nginx_common "$name"
    cat <<EOF
http {
$(nginx_temp_paths "$name")
  access_log $WORK/$name-access.log combined;
  keepalive_requests 1000000;   # like Node's server: no cap on requests per client connection
  upstream app {
    server $server;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]} default_server;
    return 404;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]};
    server_name $HOST;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
EOF
  } >"$WORK/$name.conf"
}

write_cache_nginx_conf() { # write_cache_nginx_conf NAME: the nginx under test with proxy_cache
  local name=$1
  {
    nginx_common "$name"
    cat <<EOF
http {
$(nginx_temp_paths "$name")
  access_log $WORK/$name-access.log combined;
  keepalive_requests 1000000;
  proxy_cache_path $WORK/tmp/$name-cache levels=1:2 keys_zone=bench:10m max_size=100m inactive=60m use_temp_path=off;
  upstream app {
    server 127.0.0.1:$UP_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]} default_server;
    return 404;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]};
    server_name $HOST;
    location / {
      proxy_cache bench;
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      add_header X-Cache-Status \$upstream_cache_status;
    }
  }
}
EOF
  } >"$WORK/$name.conf"
}

# ---- static-file rows -----------------------------------------------------------------------------

FILES=$WORK/www
file_path() { # file_path KIND: the URL path of that kind's file
  case $1 in
    file-1k) echo /1k.txt ;;
    file-1m) echo /1m.bin ;;
  esac
}
write_files() { # the same files for nginx and edge: 1 KiB of text, 1 MiB of random bytes
  mkdir -p "$FILES"
  head -c "${FILE_BYTES[file-1k]}" /dev/zero | tr '\0' 'x' >"$FILES/1k.txt"
  head -c "${FILE_BYTES[file-1m]}" /dev/urandom >"$FILES/1m.bin"
}

write_static_nginx_conf() { # write_static_nginx_conf NAME: the nginx under test serving $FILES
  local name=$1
  {
    nginx_common "$name"
    cat <<EOF
http {
$(nginx_temp_paths "$name")
  access_log $WORK/$name-access.log combined;
  keepalive_requests 1000000;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=1000;
  open_file_cache_valid 1s;
  types { text/plain txt; application/octet-stream bin; }
  server {
    listen 127.0.0.1:${PORT[nginx]} default_server;
    return 404;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]};
    server_name $HOST;
    root $FILES;
  }
}
EOF
  } >"$WORK/$name.conf"
}

write_static_edge_conf() { # write_static_edge_conf NAME LOG: edge's config serving $FILES
  cat >"$WORK/$1.yaml" <<EOF
http_port: ${PORT[edge]}
bind: 127.0.0.1
admin: off
log: { access: $2, format: combined }
sites:
  - hosts: [$HOST]
    tls: off
    routes:
      - static: { root: $FILES }
EOF
}

run_nginx() { # run_nginx NAME CPU: start nginx with $WORK/NAME.conf, test the config first
  local name=$1 cpu=$2
  nginx -t -q -e "$WORK/$name-error.log" -p "$WORK" -c "$WORK/$name.conf" >"$WORK/$name.out" 2>&1 \
    || { sed 's/^/  | /' "$WORK/$name.out" >&2; die "nginx config $WORK/$name.conf is invalid"; }
  start "$name" "$cpu" nginx -e "$WORK/$name-error.log" -p "$WORK" -c "$WORK/$name.conf"
}

nginx_worker() { # nginx_worker MASTER_PID: the single worker's pid
  local w
  w=$(cat /proc/"$1"/task/*/children 2>/dev/null | awk '{print $1}')
  [[ -n $w ]] || die "nginx (pid $1) has no worker process"
  echo "$w"
}

# ---- TLS rows -------------------------------------------------------------------------------------

write_tls_nginx_conf() { # write_tls_nginx_conf KIND NAME: nginx over TLS (h2: HTTP/2; tls-new: HTTP/1.1), tcp upstream
  local kind=$1 name=$2 h2=""
  [[ $kind == h2 ]] && h2=" http2"
  {
    nginx_common "$name"
    cat <<EOF
http {
$(nginx_temp_paths "$name")
  access_log $WORK/$name-access.log combined;
  keepalive_requests 1000000;   # also caps the requests of an HTTP/2 connection (default 1000)
  upstream app {
    server 127.0.0.1:$UP_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]} ssl$h2;
    server_name $HOST;
    ssl_certificate $TLS_DIR/cert.pem;
    ssl_certificate_key $TLS_DIR/key.pem;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
EOF
  } >"$WORK/$name.conf"
}

write_tls_edge_conf() { # write_tls_edge_conf NAME LOG: edge over TLS (HTTP/2 and HTTP/1.1), tcp upstream
  cat >"$WORK/$1.yaml" <<EOF
http_port: $EDGE_HTTP_PORT
https_port: ${PORT[edge]}
bind: 127.0.0.1
admin: off
storage: $WORK/tmp/edge-storage
log: { access: $2, format: combined }
sites:
  # 127.0.0.1 too: wrk sends the address as SNI (RFC 6066 says not to), and edge refuses a
  # handshake for a name no site has where nginx falls back to its default certificate
  - hosts: [$HOST, 127.0.0.1]
    tls: { cert: $TLS_DIR/cert.pem, key: $TLS_DIR/key.pem }
    https_redirect: false
    routes:
      - proxy: { to: 127.0.0.1:$UP_PORT }
EOF
}
