#!/usr/bin/env node
// Entry point. Plain JavaScript so that an old Node can at least say what it needs.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`edge needs Node.js 22.18 or newer; this is ${process.versions.node}.\n`
    + 'Run it as "npx edge" from the edge folder: npm ci installs Node 24 there.\n');
  process.exit(1);
}
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
