// Run by `npm test` before anything else: the suites start real Pebble, Redis and Python
// processes, and without them a run fails an hour of tests later for one missing program.
// Plain JavaScript, no dependencies: it runs before the typecheck.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Program the tests run → the Debian package that has it. */
const NEEDS = [
  ['pebble', 'pebble'],
  ['pebble-challtestsrv', 'pebble'],
  ['redis-server', 'redis-server'],
  ['python3', 'python3'],
  ['gunicorn', 'gunicorn'],
];

const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
const found = (program) => dirs.some((dir) => {
  try {
    accessSync(join(dir, program), constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
const missing = [...new Set(NEEDS.filter(([program]) => !found(program)).map(([, pkg]) => pkg))];
if (missing.length > 0) {
  process.stderr.write(`npm test needs the Debian package(s) ${missing.join(', ')}: sudo apt-get install -y ${missing.join(' ')} (.ci/run installs them)\n`);
  process.exit(1);
}
