// What the nginx import says about each directive it does not translate: one line on stderr and
// the same line as a comment in the output, so nothing is dropped without a word. The reasons are
// grouped: what edge does by itself already, what edge does not have yet, what it never will.

import type { Directive } from './nginx-parse.ts';

const ALREADY: Record<string, string> = {
  sendfile: 'edge sends files efficiently by itself',
  tcp_nopush: 'edge tunes its sockets itself',
  tcp_nodelay: 'edge tunes its sockets itself',
  types: 'edge knows the common file types',
  default_type: 'edge knows the common file types',
  types_hash_max_size: 'no hash tables to size in edge',
  types_hash_bucket_size: 'no hash tables to size in edge',
  server_names_hash_bucket_size: 'no hash tables to size in edge',
  server_names_hash_max_size: 'no hash tables to size in edge',
  proxy_buffering: 'edge buffers responses by default (memory, then a temp file); for off, set proxy: { buffering: { response: false } } on the route',
  proxy_request_buffering: 'edge buffers request bodies by default (memory, then a temp file); for off, set proxy: { buffering: { request: false } } on the route',
  proxy_http_version: 'edge speaks HTTP/1.1 with keep-alive to upstreams already',
  proxy_redirect: 'edge leaves the upstream\'s Location header as it is',
  proxy_buffer_size: 'edge sizes its buffers itself',
  proxy_buffers: 'edge sizes its buffers itself',
  proxy_busy_buffers_size: 'edge sizes its buffers itself',
  proxy_send_timeout: 'edge bounds upstream silence with proxy.timeouts.read',
  keepalive: 'edge keeps upstream connections alive by itself',
  ssl_protocols: 'edge offers TLS 1.2 and 1.3 only',
  ssl_ciphers: 'edge picks modern cipher suites itself',
  ssl_prefer_server_ciphers: 'edge picks modern cipher suites itself',
  ssl_ecdh_curve: 'edge picks modern curves itself',
  ssl_session_cache: 'edge resumes TLS sessions itself',
  ssl_session_timeout: 'edge resumes TLS sessions itself',
  ssl_session_tickets: 'edge resumes TLS sessions itself',
  ssl_dhparam: 'edge uses ECDHE key exchange, no DH parameters',
  ssl_stapling: 'edge handles OCSP itself (Let\'s Encrypt has none now)',
  ssl_stapling_verify: 'edge handles OCSP itself (Let\'s Encrypt has none now)',
  ssl_trusted_certificate: 'edge handles OCSP itself (Let\'s Encrypt has none now)',
  ssl_buffer_size: 'edge tunes TLS records itself',
  ssl: 'the listen line says ssl',
  http2: 'edge offers HTTP/2 on HTTPS by itself',
  server_tokens: 'edge sends no version in its headers',
  gzip_vary: 'edge sends Vary: Accept-Encoding when it compresses',
  gzip_proxied: 'edge compresses proxied responses when compress is on',
  gzip_comp_level: 'edge picks its compression levels',
  gzip_buffers: 'edge compresses streaming',
  gzip_http_version: 'edge compresses for HTTP/1.1 and HTTP/2',
  gzip_types: 'edge compresses every compressible type (text, JSON, JavaScript, XML, SVG, ...)',
  gzip_min_length: 'edge compresses responses of 1 KiB and more',
  gzip_disable: 'edge compresses for the clients that ask for it',
  gzip_static: 'edge serves FILE.gz beside FILE (static.precompressed)',
  etag: 'edge sends strong ETags on files',
  if_modified_since: 'edge answers conditional requests',
  worker_connections: 'edge has no connection table to size',
  multi_accept: 'edge accepts connections itself',
  use: 'edge picks its event mechanism itself',
  worker_rlimit_nofile: 'edge has no connection table to size',
  pid: 'edge is run by systemd (scripts/edge.service)',
  user: 'run edge as an unprivileged user with CAP_NET_BIND_SERVICE (scripts/edge.service)',
  load_module: 'edge has no modules to load',
  error_log: 'edge writes errors to log.error (stderr by default)',
  access_log: 'edge has one access log, log.access (stdout by default)',
  log_format: 'edge logs in combined or json format (log.format)',
  client_body_buffer_size: 'edge holds a request body in memory up to its own bound, then in a temp file (buffering.temp_dir)',
  client_header_buffer_size: 'edge sizes its header buffer by limits.max_header_size',
  large_client_header_buffers: 'edge sizes its header buffer by limits.max_header_size',
  open_file_cache: 'edge opens files per request',
  open_file_cache_valid: 'edge opens files per request',
  open_file_cache_min_uses: 'edge opens files per request',
  open_file_cache_errors: 'edge opens files per request',
  reset_timedout_connection: 'edge closes timed-out connections itself',
  send_timeout: 'edge drops clients that stop reading',
  ssl_certificate: 'handled with the server\'s tls',
  ssl_certificate_key: 'handled with the server\'s tls',
  charset: 'edge sends the charset the app or file type gives',
  autoindex: 'edge lists no folders (404)',
  listen: 'handled with the server',
  events: 'edge has no event loop settings',
  client_body_temp_path: 'edge spools request and response bodies to one folder, buffering.temp_dir (default under the OS temp folder)',
  proxy_temp_path: 'edge spools request and response bodies to one folder, buffering.temp_dir (default under the OS temp folder)',
  fastcgi_temp_path: 'edge speaks HTTP to the app, not FastCGI',
  uwsgi_temp_path: 'edge speaks HTTP to the app, not uwsgi',
  scgi_temp_path: 'edge speaks HTTP to the app, not SCGI',
  log_not_found: 'edge logs no missing files as errors',
  log_subrequest: 'edge has no subrequests',
  server_name: 'handled with the server',
};

const NOT_YET: Record<string, string> = {
  add_header: 'edge has no response headers setting for proxied routes yet (static.headers for files)',
  proxy_set_header: 'edge has no request headers setting yet',
  proxy_hide_header: 'edge has no response headers setting yet',
  allow: 'edge has no allow/deny rules yet: the route is open to every client',
  deny: 'edge has no allow/deny rules yet: the route is open to every client',
  auth_basic: 'edge has no basic auth yet: the route is open to every client',
  auth_basic_user_file: 'edge has no basic auth yet: the route is open to every client',
  auth_request: 'edge has no auth_request yet: the route is open to every client',
  limit_req: 'edge has no rate limits yet',
  limit_req_zone: 'edge has no rate limits yet',
  limit_req_status: 'edge has no rate limits yet',
  limit_conn: 'edge has no connection limits yet',
  limit_conn_zone: 'edge has no connection limits yet',
  error_page: 'edge has no custom error pages yet',
  real_ip_header: 'edge has no trusted proxies setting yet',
  set_real_ip_from: 'edge has no trusted proxies setting yet',
  expires: 'for files, set Cache-Control with static.headers',
  proxy_cache: 'edge caches with cache: on a route (not translated)',
  proxy_cache_path: 'edge caches with cache: on a route (not translated)',
  proxy_cache_valid: 'edge caches with cache: on a route (not translated)',
  proxy_cache_key: 'edge caches with cache: on a route (not translated)',
  proxy_cache_use_stale: 'edge caches with cache: on a route (not translated)',
  proxy_cache_bypass: 'edge caches with cache: on a route (not translated)',
  proxy_no_cache: 'edge caches with cache: on a route (not translated)',
  proxy_ssl_verify: 'edge always verifies https upstreams (proxy.tls.verify), not translated',
  proxy_ssl_trusted_certificate: 'set proxy.tls.ca to this file (not translated)',
  proxy_ssl_name: 'set proxy.tls.server_name (not translated)',
  sub_filter: 'edge does not rewrite bodies',
  internal: 'edge has no internal-only routes yet',
  if: 'edge has no conditions yet',
  set: 'edge has no variables',
  map: 'edge has no variables',
  geo: 'edge has no variables',
  split_clients: 'edge has no variables',
};

/** Why `d` is not translated, with "dropped" or "no edge equivalent" at the end. */
export function reasonFor(d: Directive): string {
  if (ALREADY[d.name]) return `${ALREADY[d.name]}, dropped`;
  if (NOT_YET[d.name]) return `${NOT_YET[d.name]}, dropped`;
  if (d.name.startsWith('gzip_')) return 'edge picks its compression settings, dropped';
  if (d.name.startsWith('ssl_')) return 'edge sets up TLS itself, dropped';
  if (d.name.startsWith('proxy_')) return 'not translated (edge has no such proxy setting), dropped';
  if (d.name === 'ssl_certificate_by_lua_block' || d.name.startsWith('lua_') || d.name.includes('_by_lua')) return 'no edge equivalent';
  if (/^(fastcgi|uwsgi|scgi|grpc)_/.test(d.name)) return 'no edge equivalent (edge proxies HTTP only)';
  return 'no edge equivalent';
}

/** How a directive is shown in notes: "proxy_buffering off", shortened if long. */
export function show(d: Directive): string {
  const text = [d.name, ...d.args.map((a) => (a === '' || /[\s;{}]/.test(a) ? JSON.stringify(a) : a))].join(' ');
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/** Collects the import's notes: each one a stderr line; the caller puts it in the output too. */
export class Notes {
  readonly lines: string[] = [];

  /** "FILE:LINE: DIRECTIVE: why", recorded and returned. */
  at(d: Directive, why: string): string {
    return this.add(`${d.file}:${d.line}: ${show(d)}: ${why}`);
  }

  /** The standard line for a directive that is not translated. */
  dropped(d: Directive): string {
    return this.at(d, reasonFor(d));
  }

  add(line: string): string {
    this.lines.push(line);
    return line;
  }
}
