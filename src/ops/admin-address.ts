// Where the admin endpoint listens, and how a command reaches it.

import { connect } from 'node:net';
import { unlink } from 'node:fs/promises';
import { request } from 'node:http';
import type { Server } from 'node:http';
import type { LoadedConfig } from '../config/load.ts';

export type AdminAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseAdminAddress(text: string): AdminAddress | undefined {
  if (text === 'off') return undefined;
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice(5) };
  const colon = text.lastIndexOf(':');
  const host = text.slice(0, colon).replace(/^\[|\]$/g, '');
  return { kind: 'tcp', host, port: Number(text.slice(colon + 1)) };
}

/** Listens; a Unix socket left behind by a process that died is removed first. */
export async function listenAdmin(server: Server, address: AdminAddress): Promise<void> {
  if (address.kind === 'unix' && !(await answers(address.path))) await unlink(address.path).catch(() => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** One request to the admin endpoint; rejects when nothing listens there. */
export function adminRequest(address: AdminAddress, method: string, path: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const target = address.kind === 'unix'
      ? { socketPath: address.path }
      : { host: address.host, port: address.port };
    const req = request({ ...target, method, path, headers: { host: 'localhost' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode!, body: JSON.parse(text) });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from the admin endpoint in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export function describeAdmin(address: AdminAddress): string {
  return address.kind === 'unix' ? `unix:${address.path}` : `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/**
 * Opens the admin endpoint at `spec` (an address or "off"). It is a convenience: if its address
 * is taken, edge serves without it and says so. `line` describes the outcome for the banner.
 */
export async function openAdmin(spec: string, make: () => Server, warn: (message: string) => void): Promise<{ server: Server | undefined; line: string }> {
  const address = parseAdminAddress(spec);
  if (!address) return { server: undefined, line: 'off' };
  const server = make();
  try {
    await listenAdmin(server, address);
    server.on('error', (err: Error) => warn(`admin endpoint ${describeAdmin(address)}: ${err.message}`));
    return { server, line: describeAdmin(address) };
  } catch (err) {
    const line = `not started: ${describeAdmin(address)} ${(err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'is in use (another edge?)' : (err as Error).message}`;
    warn(`admin endpoint ${line}; edge certs and edge reload cannot reach this instance`);
    return { server: undefined, line };
  }
}

/** Who answers at an admin address: what its /health says of itself. */
export interface Instance {
  pid: number;
  version: string;
  /** Where its config came from, as it was named at start ("conf/edge.yaml", "command line"). */
  config: string;
  /** Its config file as an absolute path; null for the one-liner. */
  config_file?: string | null;
  storage: string;
  status?: string;
}

/** The edge answering at `address`, or undefined when nothing (or something else) answers. */
export async function identify(address: AdminAddress, timeoutMs = 3000): Promise<Instance | undefined> {
  try {
    const { body } = await adminRequest(address, 'GET', '/health', timeoutMs);
    const instance = body as Instance;
    return typeof instance?.pid === 'number' ? instance : undefined;
  } catch {
    return undefined;
  }
}

/** "edge pid 1234 (conf/edge.yaml) at http://127.0.0.1:2019": which instance answered. */
export function describeInstance(instance: Instance, address: AdminAddress): string {
  return `edge pid ${instance.pid} (${instance.config}) at ${describeAdmin(address)}`;
}

/** What an admin command (edge certs, reload, cache, health) talks to. */
export interface AdminTarget {
  /** Where to ask: --admin, else the config's admin; undefined when that is off. */
  admin: AdminAddress | undefined;
  /** The config named by -c FILE (or the default file); undefined when only --admin was given. */
  loaded: LoadedConfig | undefined;
}
