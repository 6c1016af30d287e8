// A TCP forwarder on the ports Pebble validates on, so a test decides which edge instance each
// validation connection reaches (e.g. one that did not place the order), and can hold connections
// back until it has done something in between (killed the instance holding the lock).

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Forwarder {
  port: number;
  /** Every target a connection was sent to, in order. */
  sentTo: number[];
  close(): Promise<void>;
}

/** Forwards each connection on `port` to 127.0.0.1:(await pick()). */
export async function startForwarder(port: number, pick: () => Promise<number>): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const sentTo: number[] = [];
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.pause();
    pick().then((target) => {
      sentTo.push(target);
      const upstream = connect(target, '127.0.0.1', () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
    }, () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    sentTo,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
