// Writes a config file for a test into a fresh temp dir.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function writeConfig(yaml: string, name = 'edge.yaml'): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'edge-conf-'));
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return { dir, file };
}
