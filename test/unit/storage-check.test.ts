// Telling durable certificate storage from storage that will be gone after a restart.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ephemeralReason } from '../../src/ops/storage-check.ts';

const container = [
  '523 456 0:50 / / rw,relatime master:222 - overlay overlay rw,lowerdir=/var/lib/docker/l/A,upperdir=/var/lib/docker/B/diff',
  '524 523 0:53 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '531 523 8:1 /var/lib/docker/volumes/certs/_data /app/certs rw,relatime - ext4 /dev/sda1 rw',
  '532 523 0:60 / /run rw - tmpfs tmpfs rw',
].join('\n');
const host = [
  '26 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 26 0:25 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw',
  '31 26 8:2 / /var/lib/edge\\040certs rw - xfs /dev/sda2 rw',
].join('\n');

describe('ephemeralReason', () => {
  it('a volume in a container is durable; the container layer is not', () => {
    assert.equal(ephemeralReason(container, '/app/certs'), undefined);
    assert.equal(ephemeralReason(container, '/app/certs/acme'), undefined);
    assert.match(ephemeralReason(container, '/app/other')!, /container's own overlay layer/);
    assert.match(ephemeralReason(container, '/app/certs-old')!, /overlay/, 'a sibling with a common prefix is not inside the volume');
  });

  it('tmpfs is ephemeral, a disk is not, spaces in mount points are decoded', () => {
    assert.match(ephemeralReason(host, '/tmp/edge/certs')!, /tmpfs \(\/tmp\)/);
    assert.match(ephemeralReason(container, '/run/certs')!, /tmpfs/);
    assert.equal(ephemeralReason(host, '/srv/edge/certs'), undefined);
    assert.equal(ephemeralReason(host, '/var/lib/edge certs/x'), undefined);
  });
});
