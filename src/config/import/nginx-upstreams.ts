// nginx `upstream NAME { ... }` blocks → edge's named pools (upstreams: NAME: ...): servers with
// weight, backup and max_conns, the balancing method, and max_fails / fail_timeout (per server in
// nginx, per pool in edge).

import type { Directive } from './nginx-parse.ts';
import type { Notes } from './nginx-notes.ts';
import { time } from './nginx-values.ts';
import { NOTES, type Obj, type Value } from './yaml-out.ts';

export function translateUpstream(block: Directive, notes: Notes): Obj | undefined {
  const pool: Obj = {};
  const lines: string[] = [];
  const to: Value[] = [];
  let failSettings: string | undefined;
  for (const d of block.block ?? []) {
    if (d.name === 'server') {
      const server = serverEntry(d, notes, lines);
      if (!server) continue;
      to.push(server.entry);
      const fails = JSON.stringify(server.fails);
      if (failSettings === undefined) {
        failSettings = fails;
        if (server.fails.max_fails !== undefined) pool.max_fails = server.fails.max_fails;
        if (server.fails.fail_timeout !== undefined) pool.fail_timeout = server.fails.fail_timeout;
      } else if (fails !== failSettings) {
        lines.push(notes.at(d, 'edge counts max_fails and fail_timeout per pool: the first server\'s values apply to all'));
      }
    } else if (d.name === 'least_conn' || d.name === 'ip_hash') {
      pool.balance = d.name;
    } else if (d.name === 'random') {
      pool.balance = d.args[0] === 'two' ? 'p2c' : 'random';
    } else if (d.name === 'hash') {
      const key = d.args[0] ?? '';
      const m = /^\$(cookie|http)_(\w+)$/.exec(key);
      if (key === '$remote_addr' || key === '$binary_remote_addr') pool.balance = 'ip_hash';
      else if (m) pool.balance = `${m[1] === 'cookie' ? 'cookie' : 'header'}:${m[1] === 'cookie' ? m[2] : m[2]!.replace(/_/g, '-')}`;
      else lines.push(notes.at(d, 'edge hashes on the client address, a header or a cookie only: round_robin instead'));
    } else if (d.name === 'zone') {
      lines.push(notes.at(d, 'edge shares a pool\'s state between its workers itself, dropped'));
    } else {
      lines.push(notes.dropped(d));
    }
  }
  if (to.length === 0) {
    notes.at(block, 'no server edge can use: the pool is not translated');
    return undefined;
  }
  pool[NOTES] = [`nginx ${block.file}:${block.line}: upstream ${block.args[0]}`, ...lines];
  return { to, ...pool, [NOTES]: pool[NOTES] };
}

interface Entry {
  entry: Value;
  fails: { max_fails?: number; fail_timeout?: string };
}

function serverEntry(d: Directive, notes: Notes, lines: string[]): Entry | undefined {
  const [addr = '', ...params] = d.args;
  const address = addr.startsWith('unix:') || /:\d+$/.test(addr) ? addr : `${addr}:80`;
  const entry: Obj = { address };
  const fails: Entry['fails'] = {};
  for (const p of params) {
    const [key, value = ''] = p.split('=');
    if (key === 'weight' && /^\d+$/.test(value)) entry.weight = Number(value);
    else if (key === 'max_conns' && /^\d+$/.test(value)) entry.max_conns = Number(value);
    else if (key === 'backup') entry.backup = true;
    else if (key === 'max_fails' && /^\d+$/.test(value)) fails.max_fails = Number(value);
    else if (key === 'fail_timeout' && time(value)) fails.fail_timeout = time(value);
    else if (key === 'down') {
      lines.push(notes.at(d, 'marked down: left out of the pool'));
      return undefined;
    } else lines.push(notes.at(d, `${p}: no edge equivalent, dropped`));
  }
  return { entry: Object.keys(entry).length === 1 ? address : entry, fails };
}
