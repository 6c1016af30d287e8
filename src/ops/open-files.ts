// The open-files limit (RLIMIT_NOFILE): what it is for the banner, a warning when it is too low
// for the connections edge should hold, and the log line, at most once a second, when new
// connections or an upstream connect find no descriptor left (nginx: "accept4() failed (24: Too
// many open files)"). Raising the soft limit needs no code here: Node sets it to the hard limit itself at
// start-up (PlatformInit in node.cc), in the supervisor and in every worker, and JavaScript has
// no setrlimit to do more; only the hard limit (systemd LimitNOFILE=, docker --ulimit) can.

import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Logger } from './log.ts';

export interface FileLimit {
  /** Infinity when unlimited. */
  soft: number;
  hard: number;
}

/** Connections one process should be able to hold before the limit is worth a warning (nginx's worker_connections is 512 to 1024). */
export const EXPECTED_CONNECTIONS = 1024;
/** A proxied connection holds the client's socket and an upstream one; a spooled body adds a temp file for a while. */
const FILES_PER_CONNECTION = 2;
/** What a process holds before any client: Node's and libuv's own, listeners, logs, the admin socket. */
const BASE_FILES = 32;

const REMEDY = 'raise it with LimitNOFILE= in the systemd unit, ulimit -n before edge, or docker run --ulimit nofile=N:N';

/** The "Max open files" line of /proc/<pid>/limits. */
export function parseLimits(text: string): FileLimit | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const n = (v: string) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

/** This process's limit, or undefined where /proc is not there to say (not Linux). */
export function fileLimit(): FileLimit | undefined {
  try {
    return parseLimits(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/** The banner's words for the limit, and a warning when `workers` processes could hold few connections under it. */
export function describeFileLimit(limit: FileLimit, workers: number): { line: string; warning?: string } {
  const raised = limit.soft < limit.hard ? ` (hard limit ${limit.hard})` : '';
  const line = `${limit.soft} per process${raised}`;
  const need = BASE_FILES + FILES_PER_CONNECTION * EXPECTED_CONNECTIONS;
  if (limit.soft >= need) return { line };
  const each = Math.max(0, Math.floor((limit.soft - BASE_FILES) / FILES_PER_CONNECTION));
  const all = workers > 1 ? `, about ${each * workers} for ${workers} workers` : '';
  return {
    line,
    warning: `open files: the limit is ${limit.soft} per process, below the ${need} that ${EXPECTED_CONNECTIONS} proxied connections need (a client socket and an upstream one each): `
      + `edge can hold about ${each} connections per process${all}, and past that refuses new ones (EMFILE); ${REMEDY}`,
  };
}

/** The banner line for this process's limit, warning first when it is low; undefined where it cannot be read. */
export function checkFileLimit(logger: Logger, workers: number): string | undefined {
  const limit = fileLimit();
  if (!limit) return undefined;
  const { line, warning } = describeFileLimit(limit, workers);
  if (warning) logger.warn(warning);
  return line;
}

const INTERVAL_MS = 1000;
/** Read when the watch starts: with no descriptor left, /proc/self/limits cannot be opened. */
let watched: FileLimit | undefined;
let lastLogged = -Infinity;
let unlogged = 0;

/**
 * True when `err` is the process (EMFILE) or the system (ENFILE) out of file descriptors: logged
 * with what to do, at most once a second whatever the rate, with the count of failures since the
 * last line. `what` says what failed, e.g. "connect to upstream 127.0.0.1:8000 failed".
 */
export function reportFileLimit(err: NodeJS.ErrnoException, logger: Logger, what: string): boolean {
  if (err.code !== 'EMFILE' && err.code !== 'ENFILE') return false;
  const now = performance.now();
  if (now - lastLogged < INTERVAL_MS) {
    unlogged++;
    return true;
  }
  const more = unlogged > 0 ? ` (and ${unlogged} more since the last such line)` : '';
  lastLogged = now;
  unlogged = 0;
  if (err.code === 'ENFILE') {
    logger.error(`${what} (ENFILE: the system's table of open files is full)${more}: raise fs.file-max (sysctl) or find what holds so many files`);
  } else {
    const limit = watched === undefined ? '' : `, limit ${watched.soft} per process`;
    logger.error(`${what} (EMFILE: too many open files${limit})${more}: new connections are dropped and upstream connects fail until some close; ${REMEDY}`);
  }
  return true;
}

/**
 * Looks once a second for a descriptor to spare, and logs when there is none. libuv accepts a
 * connection it has no descriptor for and closes it at once (uv__emfile_trick) without telling
 * Node, so those clients see a reset and edge would otherwise log nothing. Returns the stop.
 */
export function watchFileLimit(logger: Logger): () => void {
  watched = fileLimit();
  const timer = setInterval(() => {
    try {
      closeSync(openSync('/dev/null', 'r'));
    } catch (err) {
      reportFileLimit(err as NodeJS.ErrnoException, logger, 'no file descriptor left for new connections');
    }
  }, INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
