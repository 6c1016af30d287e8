// The on-demand TLS "ask" endpoint a real deployment runs: approves names starting with "yes",
// refuses the others, and records every name it was asked about.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AskServer {
  /** http://127.0.0.1:PORT/check, for acme.on_demand.ask */
  url: string;
  /** Every name asked about, in order. */
  asked: string[];
  close(): void;
}

export async function startAskServer(): Promise<AskServer> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const domain = new URL(req.url!, 'http://ask').searchParams.get('domain')!;
    asked.push(domain);
    res.writeHead(domain.startsWith('yes') ? 200 : 403).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/check`, asked, close: () => server.close() };
}
