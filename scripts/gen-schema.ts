// Writes conf/edge.schema.json from src/config/schema.ts (npm run schema). A test fails when the
// committed file is out of date. Editors use it through the YAML language server, e.g.
// "# yaml-language-server: $schema=edge.schema.json" at the top of conf/edge.yaml.

import { writeFileSync } from 'node:fs';
import { jsonSchemaText } from '../src/config/json-schema.ts';

writeFileSync(new URL('../conf/edge.schema.json', import.meta.url), jsonSchemaText());
process.stdout.write('wrote conf/edge.schema.json\n');
