// The static action of a route: the request path → try_files candidates under the root → a file
// (or a sidecar of it) served, a redirect to add a folder's "/", or the fallback (a status, or
// the route's proxy). Everything refused is 400, 403 or 404 with a short page, never more.

import { resolve } from 'node:path';
import type { Route } from '../config/schema.ts';
import type { StaticConfig } from '../config/static-schema.ts';
import { PROXY_FALLBACK } from '../config/runtime.ts';
import { chooseEncoding } from '../compress/negotiate.ts';
import type { ResponseSink } from '../http/sink.ts';
import type { Logger } from '../ops/log.ts';
import type { Action } from '../server/actions.ts';
import { normalisePath, pathOf } from '../server/path.ts';
import type { EdgeRequest, EdgeRes } from '../server/response.ts';
import { originalUrl } from '../http/original-url.ts';
import { sendStatus } from '../server/status.ts';
import { files as sharedFiles, SUFFIX, type Entry, type FileCache, type FileEntry } from './files.ts';
import { compileHide, expandTry, insideReal, isHidden, routePath, routePrefix, StaticPathError, underRoot } from './paths.ts';
import { serveFile, type ExtraHeaders, type Representation } from './serve.ts';

export interface StaticContext {
  logger: Logger;
  /** The stat and small-file cache; the process's shared one unless a test brings its own. */
  files?: FileCache;
}

type Fallback = { status: number } | 'proxy' | undefined;

/** What a found path may be: served, refused (a symlink out of root), or treated as absent (hidden). */
type Verdict = 'ok' | 'outside' | 'hidden';

export class StaticAction implements Action {
  private readonly root: string;
  private readonly prefix: string | undefined;
  private readonly index: readonly string[];
  private readonly tries: readonly string[];
  private readonly fallback: Fallback;
  private readonly hide: RegExp | undefined;
  private readonly extra: ExtraHeaders;
  private readonly precompressed: boolean;
  private readonly followSymlinks: boolean;
  private readonly proxy: Action | undefined;
  private readonly logger: Logger;
  private readonly files: FileCache;
  private warnedRoot = false;
  readonly upgrade?: Action['upgrade'];

  constructor(route: Route, config: StaticConfig, proxy: Action | undefined, ctx: StaticContext) {
    this.root = resolve(config.root);
    this.prefix = routePrefix(route.match);
    this.index = config.index;
    const last = config.try_files[config.try_files.length - 1]!;
    const terminal = last === PROXY_FALLBACK || last.startsWith('=');
    this.tries = terminal ? config.try_files.slice(0, -1) : config.try_files;
    this.fallback = !terminal ? undefined : last === PROXY_FALLBACK ? 'proxy' : { status: Number(last.slice(1)) };
    this.hide = compileHide(config.hide);
    this.extra = Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k.toLowerCase(), v]));
    this.precompressed = config.precompressed;
    this.followSymlinks = config.follow_symlinks;
    this.proxy = this.fallback === 'proxy' ? proxy : undefined;
    this.logger = ctx.logger;
    this.files = ctx.files ?? sharedFiles;
    // WebSockets on a "files, then the app" route are the app's
    this.upgrade = this.proxy?.upgrade?.bind(this.proxy);
  }

  describe(): string {
    const then = this.fallback === 'proxy' ? `, then ${this.proxy!.describe()}` : '';
    return `static ${this.root}${then}`;
  }

  handle(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      // files are for reading; with a proxy fallback, everything else is the app's
      if (this.proxy) this.proxy.handle(req, res, out);
      else sendStatus(res, 405, { headers: { allow: 'GET, HEAD' } }, out);
      return;
    }
    this.serve(req, res, out).catch((err: unknown) => this.failed(req, res, out, err));
  }

  private async serve(req: EdgeRequest, res: EdgeRes, out: ResponseSink): Promise<void> {
    const uri = routePath(req.url!, this.prefix);
    const rootEntry = await this.files.lookup(this.root);
    if (rootEntry.kind !== 'dir') {
      if (!this.warnedRoot) this.logger.warn(`static root ${this.root} is not a readable folder: every request to it gets 404`);
      this.warnedRoot = true;
      sendStatus(res, 404, {}, out);
      return;
    }
    this.warnedRoot = false;
    const realRoot = rootEntry.real;
    for (const entry of this.tries) {
      const candidate = expandTry(entry, uri);
      if (isHidden(candidate, this.hide)) continue;
      const path = underRoot(this.root, candidate);
      if (!candidate.endsWith('/')) {
        const found = await this.files.lookup(path);
        if (found.kind === 'denied') return sendStatus(res, 403, {}, out);
        if (found.kind !== 'file') continue;
        const verdict = this.check(found, realRoot);
        if (verdict === 'outside') return this.refuse(req, res, out, found);
        if (verdict === 'ok' && (await this.send(req, res, out, path, found, realRoot))) return;
        continue;
      }
      const dir = await this.files.lookup(path);
      if (dir.kind === 'denied') return sendStatus(res, 403, {}, out);
      if (dir.kind !== 'dir') continue;
      const verdict = this.check(dir, realRoot);
      if (verdict === 'outside') return this.refuse(req, res, out, dir);
      if (verdict === 'hidden') continue;
      if (entry === '$uri/' && !uri.endsWith('/')) return this.addSlash(req, out);
      for (const name of this.index) {
        const file = await this.files.lookup(path + name);
        if (file.kind === 'file' && this.check(file, realRoot) === 'ok' && (await this.send(req, res, out, path + name, file, realRoot))) return;
      }
    }
    if (this.fallback === 'proxy') this.proxy!.handle(req, res, out);
    else sendStatus(res, this.fallback?.status ?? 404, {}, out);
  }

  /** Serves a found file, or a precompressed sidecar of it the client prefers. */
  private async send(req: EdgeRequest, res: EdgeRes, out: ResponseSink, path: string, file: FileEntry, realRoot: string): Promise<boolean> {
    let rep: Representation = { path, entry: file, type: file.type, coding: undefined, varies: false };
    if (this.precompressed) {
      const available = await this.files.sidecars(path, file);
      if (available.length > 0) {
        rep.varies = true;
        const coding = chooseEncoding(req.headers['accept-encoding'], available);
        if (coding !== undefined) {
          const sidecar = await this.files.lookup(path + SUFFIX[coding]);
          if (sidecar.kind === 'file' && this.check(sidecar, realRoot) === 'ok') rep = { ...rep, path: path + SUFFIX[coding], entry: sidecar, coding };
        }
      }
    }
    return serveFile(req, res, out, rep, this.extra, this.files, this.logger);
  }

  private check(found: Entry & { real: string }, realRoot: string): Verdict {
    if (!insideReal(found.real, realRoot)) return this.followSymlinks ? 'ok' : 'outside';
    // a link inside root may lead to a hidden name: judge the real path too
    return isHidden(found.real.slice(realRoot.length), this.hide) ? 'hidden' : 'ok';
  }

  private refuse(req: EdgeRequest, res: EdgeRes, out: ResponseSink, found: { real: string }): void {
    this.logger.warn(`403 ${req.url}: a symlink leads out of the static root ${this.root} to ${found.real} (follow_symlinks is off)`, req);
    sendStatus(res, 403, {}, out);
  }

  /** "/docs" is a folder: send the client to "/docs/", so relative links in its index resolve. */
  private addSlash(req: EdgeRequest, out: ResponseSink): void {
    // the client's own path: after a strip_prefix or rewrite, req.url is not one it knows
    const url = originalUrl(req)!;
    const path = pathOf(url);
    // from the normalised path, re-encoded: "//evil.example" must not become a protocol-relative Location
    const location = normalisePath(path).split('/').map(encodeURIComponent).join('/') + '/' + url.slice(path.length);
    out.onHead(308, ['location', location, 'content-length', '0']);
    out.onEnd();
  }

  private failed(req: EdgeRequest, res: EdgeRes, out: ResponseSink, err: unknown): void {
    if (err instanceof StaticPathError) {
      sendStatus(res, err.status, {}, out);
      return;
    }
    // a file that stat could see but open could not read, or that went away in between
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT' || code === 'ENOTDIR') {
      sendStatus(res, code === 'EACCES' || code === 'EPERM' ? 403 : 404, {}, out);
      return;
    }
    this.logger.error(`500 ${req.method} ${req.url}: static files under ${this.root}: ${(err as Error).message}`, req);
    sendStatus(res, 500, {}, out);
  }
}
