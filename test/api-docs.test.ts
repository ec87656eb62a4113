// The protos are the API reference: every service, method, message, field
// and enum value carries a comment, and docs/api.md is generated from them.
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, renderApiDocs, undocumented } from '../scripts/api-docs.ts';

test('every service, method, message, field and enum value of the protos is documented', (t) => {
  const missing = undocumented();
  t.deepEqual(
    missing.map((m) => `${m.file}: ${m.what}`),
    [],
  );
});

test('docs/api.md is generated from the current protos (npm run gen:docs)', (t) => {
  const text = renderApiDocs();
  t.is(readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8'), text);
  t.regex(text, /service `drydock\.admin\.v1\.Admin`/);
  t.regex(text, /`EnableMaintenance`/);
  t.regex(text, /message `MigrateServerRequest`/);
});
