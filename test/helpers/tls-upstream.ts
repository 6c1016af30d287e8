// An https upstream for tests: a node:https server on 127.0.0.1 with a certificate for the given
// names from a throwaway local CA, whose root is written to a file for proxy.tls.ca.

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { FsStorage } from '../../src/tls/storage/fs.ts';

export interface TlsUpstream {
  server: Server;
  port: number;
  /** The PEM file of the root that signed the server's certificate. */
  caFile: string;
  requests: IncomingMessage[];
  /** The SNI name each TLS connection asked for ('' for none). */
  serverNames: string[];
  close(): Promise<void>;
}

export async function startTlsUpstream(
  names: string[],
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TlsUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-tls-up-'));
  const ca = await LocalCA.load(new FsStorage(join(dir, 'ca')));
  const leaf = await ca.issue(names);
  const caFile = join(dir, 'root.pem');
  writeFileSync(caFile, ca.rootPem);
  const requests: IncomingMessage[] = [];
  const serverNames: string[] = [];
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    serverNames.push((socket as TLSSocket & { servername?: string | false }).servername || '');
  });
  // a rejected handshake (edge refusing the certificate) is the test's point, not a failure here
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as { port: number }).port,
    caFile,
    requests,
    serverNames,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      });
    }),
  };
}
