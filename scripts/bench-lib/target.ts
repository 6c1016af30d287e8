// Shared by the bench helper proxies: parse the command line "LISTEN_PORT UPSTREAM", where
// UPSTREAM is host:port or unix:/path.sock, the same spelling edge's --to uses.

export interface Upstream {
  host: string;
  port: number;
  socketPath?: string;
}

export function parseArgs(argv: string[]): { listenPort: number; upstream: Upstream } {
  const [port, to] = argv;
  const listenPort = Number(port);
  if (!Number.isInteger(listenPort) || listenPort <= 0 || !to) {
    process.stderr.write('usage: node PROXY.ts LISTEN_PORT host:port|unix:/path.sock\n');
    process.exit(2);
  }
  if (to.startsWith('unix:')) return { listenPort, upstream: { host: 'localhost', port: 80, socketPath: to.slice(5) } };
  const i = to.lastIndexOf(':');
  return { listenPort, upstream: { host: to.slice(0, i), port: Number(to.slice(i + 1)) } };
}
