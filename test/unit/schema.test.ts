// conf/edge.schema.json matches the schema in code, and the shipped example config is valid.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { jsonSchemaText } from '../../src/config/json-schema.ts';
import { loadConfigFile } from '../../src/config/load.ts';

it('conf/edge.schema.json is up to date (npm run schema)', () => {
  assert.equal(readFileSync(new URL('../../conf/edge.schema.json', import.meta.url), 'utf8'), jsonSchemaText());
});

it('conf/edge.yaml, the commented example, loads with its conf.d include', () => {
  const loaded = loadConfigFile(new URL('../../conf/edge.yaml', import.meta.url).pathname);
  assert.ok(loaded.config.sites.length >= 2);
  assert.ok(loaded.files.some((f) => f.includes('conf.d')));
});
