// WebSocket clients for tests: open one through edge, and send a message and wait for its echo.

import { WebSocket } from 'ws';

export function openWs(port: number, path: string, host = 'test.example'): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Sends `message` and resolves with the next message; rejects if the socket closes first or 5 s pass. */
export function roundTrip(ws: WebSocket, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo of ${message} in 5 s`)), 5000);
    const onClose = () => reject(new Error(`socket closed before the echo of ${message}`));
    ws.once('close', onClose);
    ws.once('message', (data) => {
      clearTimeout(timer);
      ws.off('close', onClose);
      resolve(data.toString());
    });
    ws.send(message);
  });
}
