// trusted_proxies: behind a trusted proxy the client is the right-most untrusted X-Forwarded-For
// entry, for the app (X-Forwarded-For, X-Real-IP), the access log and ip_hash; without
// trusted_proxies, or from an untrusted peer, nothing the client sends changes who it is.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startEdge, waitFor } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';

async function withEdge(trusted: string | undefined, run: (port: number, log: () => string) => Promise<void>): Promise<void> {
  const up = await startUpstream((req, res) => res.end(`${req.headers['x-forwarded-for']}|${req.headers['x-real-ip']}`));
  const port = await freePort();
  const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
${trusted === undefined ? '' : `trusted_proxies: ${trusted}`}
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /
        proxy: { to: ${up.address}, balance: ip_hash }
`);
  const edge = await startEdge(['run', '-c', file], { port });
  try {
    await run(port, () => edge.stdout());
  } finally {
    await edge.stop();
    await up.close();
  }
}

describe('trusted_proxies', () => {
  it('without it, a client-sent X-Forwarded-For changes nothing: X-Real-IP and the log see the peer', async () => {
    await withEdge(undefined, async (port, log) => {
      const a = await fetchRaw(port, '/spoof', { headers: { 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6' } });
      assert.equal(a.text, '6.6.6.6, 127.0.0.1|127.0.0.1');
      await waitFor(() => /^127\.0\.0\.1 - - .*"GET \/spoof /m.test(log()), () => `a log line from 127.0.0.1:\n${log()}`);
      assert.doesNotMatch(log(), /^6\.6\.6\.6/m);
    });
  });

  it('from an untrusted peer, the header is not believed', async () => {
    await withEdge('[10.0.0.0/8, "::1"]', async (port, log) => {
      const a = await fetchRaw(port, '/untrusted', { headers: { 'x-forwarded-for': '6.6.6.6' } });
      assert.equal(a.text, '6.6.6.6, 127.0.0.1|127.0.0.1');
      await waitFor(() => /^127\.0\.0\.1 - - .*"GET \/untrusted /m.test(log()), () => `a log line from 127.0.0.1:\n${log()}`);
    });
  });

  it('from a trusted peer, the right-most untrusted entry is the client, everywhere', async () => {
    await withEdge('[127.0.0.1, 10.0.0.0/8]', async (port, log) => {
      const a = await fetchRaw(port, '/real', { headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.4, 10.1.2.3' } });
      // the trusted hops are gone; what the client itself claimed stays left of it
      assert.equal(a.text, '6.6.6.6, 198.51.100.4|198.51.100.4');
      await waitFor(() => /^198\.51\.100\.4 - - .*"GET \/real /m.test(log()), () => `a log line from 198.51.100.4:\n${log()}`);
      const b = await fetchRaw(port, '/direct');
      assert.equal(b.text, '127.0.0.1|127.0.0.1', 'a trusted peer without the header is the client itself');
    });
  });
});
