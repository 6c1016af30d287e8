// Telling systemd (a Type=notify unit) what edge is doing: READY=1 once every listener is bound,
// so that `systemctl start` returns when edge serves and a failed start is seen as one, and
// RELOADING=1 then READY=1 around a reload. The protocol is a datagram on the Unix socket named in
// $NOTIFY_SOCKET; Node has no Unix datagram sockets, so systemd's own systemd-notify sends it (the
// unit's NotifyAccess=all lets a child of edge speak for it; systemd-notify waits until systemd
// has read the message, so its exit is the message's delivery). Without NOTIFY_SOCKET (not
// started by systemd, or Type=simple) nothing is run.

import { spawn } from 'node:child_process';

/** Where failures go: a warning, since edge serves on whatever systemd thinks. */
export type Warn = (message: string) => void;

/** How long systemd-notify may take (it waits for systemd to read the message); killed after. */
const TIMEOUT_MS = 10_000;

/** One message at a time, in order: a reload's READY=1 never overtakes its RELOADING=1. */
let queue: Promise<void> = Promise.resolve();

/** Every listener is bound (start-up), or a reload is over, applied or refused. */
export function notifyReady(warn: Warn, status?: string): Promise<void> {
  return notify(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${status}`], warn);
}

/** A reload begins; systemd shows the unit as reloading until the next notifyReady(). */
export function notifyReloading(warn: Warn): Promise<void> {
  // CLOCK_MONOTONIC (libuv's hrtime), which systemd 253 and later want with RELOADING=1
  return notify(['RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`], warn);
}

function notify(assignments: string[], warn: Warn): Promise<void> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve();
  const sent = queue.then(() => send(assignments, warn));
  queue = sent;
  return sent;
}

function send(assignments: string[], warn: Warn): Promise<void> {
  return new Promise((resolve) => {
    const failed = (why: string) => {
      warn(`could not tell systemd ${assignments[0]} (NOTIFY_SOCKET=${process.env.NOTIFY_SOCKET}): ${why}; `
        + 'a Type=notify unit needs systemd-notify on PATH, or use Type=simple');
      resolve();
    };
    let stderr = '';
    const child = spawn('systemd-notify', assignments, { stdio: ['ignore', 'ignore', 'pipe'], timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stderr.on('error', () => {});
    child.once('error', (err) => failed(`systemd-notify: ${err.message}`));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      // after 'error' (it could not be started) 'close' may follow with code -2: already reported
      else if (child.pid !== undefined) failed(`systemd-notify ${signal ? `was killed (${signal})` : `exited with ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    });
  });
}
