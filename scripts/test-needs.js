// Run by `npm test` before anything else: the suites start real Pebble, Redis, Knot, nginx,
// certbot, Python and systemd-notify processes, and without them a run fails an hour of tests
// later for one missing program.
// Plain JavaScript, no dependencies: it runs before the typecheck.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Program the tests run → the Debian package that has it. */
const NEEDS = [
  ['pebble', 'pebble'],
  ['pebble-challtestsrv', 'pebble'],
  ['redis-server', 'redis-server'],
  ['knotd', 'knot'],
  ['kdig', 'knot-dnsutils'],
  ['knsupdate', 'knot-dnsutils'],
  ['python3', 'python3'],
  ['nginx', 'nginx'],
  ['certbot', 'certbot'],
  ['systemd-notify', 'systemd'],
  ['gunicorn', 'gunicorn'],
];

// nginx lives in /usr/sbin, which a non-root PATH may leave out
const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin'];
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
