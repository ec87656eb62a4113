// The tests' own PKI (test/helpers/tls.ts) must issue certificates
// concurrently: coordinator-access issues several at once, and with a shared
// openssl serial file (-CAcreateserial) 4 of 16 parallel issues failed
// ("Unable to load number from ...srl"), failing that file's before hook.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makePki } from './helpers/tls.ts';

test('the test PKI issues 16 certificates at once, each with its own serial', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-testpki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await makePki(dir);
  const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => pki.issue(`c${i}`, { uri: [`spiffe://drydock/host/h${i}`] })));
  const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason).split('\n')[0]);
  t.deepEqual(failed, []);
});
