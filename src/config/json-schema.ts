// The config schema as JSON Schema, for editors; conf/edge.schema.json is this text, committed.

import * as z from 'zod';
import { configSchema } from './schema.ts';

export function jsonSchemaText(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'edge configuration' }, null, 2)}\n`;
}
