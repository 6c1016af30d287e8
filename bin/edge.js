#!/usr/bin/env node
// Entry point. Plain JavaScript so that an old Node can at least say what it needs.
import { readdirSync, statSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`edge needs Node.js 22.18 or newer; this is ${process.versions.node}.\n`
    + 'Run it as "npx edge" from the edge folder: npm ci installs Node 24 there.\n');
  process.exit(1);
}

// V8's young generation grows to 64 MiB per semi-space under load and never gives the memory
// back: a proxy's allocations die young, so 4 MiB semi-spaces keep RSS after load ~45 MiB lower
// (5,000 idle connections: far more), throughput the same within this machine's noise. The flag must be given at
// start: the process replaces itself (same pid) with one that has it; workers inherit it.
const SEMI_SPACE = '--max-semi-space-size=4';
if (!process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, SEMI_SPACE, ...process.execArgv, process.argv[1], ...process.argv.slice(2)], process.env);
}

/**
 * True when dist/ (built by `npm ci` or `npm run build`) holds a JavaScript file at least as new as
 * every source file. Running the built files saves the TypeScript stripper Node would otherwise
 * load (about 18 MiB in every process); after an edit, until the next build, edge runs from src/.
 */
function built(src, dist) {
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    const from = new URL(entry.name + (entry.isDirectory() ? '/' : ''), src);
    if (entry.isDirectory()) {
      if (!built(from, new URL(`${entry.name}/`, dist))) return false;
    } else if (entry.name.endsWith('.ts')) {
      const to = new URL(entry.name.replace(/\.ts$/, '.js'), dist);
      try {
        if (statSync(to).mtimeMs < statSync(from).mtimeMs) return false;
      } catch {
        return false;
      }
    }
  }
  return true;
}

const src = new URL('../src/', import.meta.url);
const dist = new URL('../dist/', import.meta.url);
const { main } = await import(built(src, dist) ? '../dist/cli.js' : '../src/cli.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
