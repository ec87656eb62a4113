// The lab PKI (scripts/pki.mjs, openssl) in a temp dir: names per
// common/identity.mjs, private files, idempotent, safe when called at once,
// re-issued when the CA changes.
import test from 'ava';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureCoordinatorCert, ensureHostCert, ensureLabCa } from '../scripts/pki.mjs';
import { pemUriSans } from '../common/peer-identity.ts';

const root = mkdtempSync(path.join(tmpdir(), 'drydock-pki-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const mode = (f: string) => statSync(f).mode & 0o777;
const x509 = (f: string) => new X509Certificate(readFileSync(f));
/** The key file holds the private key of the certificate. */
const keyMatches = (certFile: string, keyFile: string) =>
  createPublicKey(createPrivateKey(readFileSync(keyFile)))
    .export({ format: 'der', type: 'spki' })
    .equals(x509(certFile).publicKey.export({ format: 'der', type: 'spki' }));

test('host and coordinator certificates: named per common/identity.mjs, signed by the CA, keys 0600 in a 0700 directory', async (t) => {
  const dir = path.join(root, 'a');
  const host = await ensureHostCert('Kvm_07-b', { dir });
  const coord = await ensureCoordinatorCert({ dir });
  const ca = x509(host.caFile);
  t.true(ca.ca);
  t.deepEqual(pemUriSans(readFileSync(host.certFile)), ['spiffe://drydock/host/Kvm_07-b']);
  t.deepEqual(pemUriSans(readFileSync(coord.certFile)), ['spiffe://drydock/coordinator']);
  for (const c of [host, coord]) {
    t.true(x509(c.certFile).verify(ca.publicKey));
    t.true(keyMatches(c.certFile, c.keyFile));
    t.is(mode(c.keyFile), 0o600);
  }
  t.is(mode((await ensureLabCa({ dir })).caKeyFile), 0o600);
  t.is(mode(dir), 0o700);
  // A host certificate serves; the coordinator's calls. Neither can do the other's job.
  t.true(x509(host.certFile).keyUsage.includes('1.3.6.1.5.5.7.3.1'));
  t.false(x509(host.certFile).keyUsage.includes('1.3.6.1.5.5.7.3.2'));
  t.deepEqual(x509(coord.certFile).keyUsage, ['1.3.6.1.5.5.7.3.2']);
});

test('idempotent: a second call keeps the files; a new CA re-issues the host certificates', async (t) => {
  const dir = path.join(root, 'b');
  const first = await ensureHostCert('h1', { dir });
  const pem = readFileSync(first.certFile, 'utf8');
  const again = await ensureHostCert('h1', { dir });
  t.deepEqual(again, first);
  t.is(readFileSync(again.certFile, 'utf8'), pem);
  rmSync(path.join(dir, 'ca'), { recursive: true });
  const renewed = await ensureHostCert('h1', { dir });
  t.not(readFileSync(renewed.certFile, 'utf8'), pem);
  t.true(x509(renewed.certFile).verify(x509(renewed.caFile).publicKey));
});

test('called at once from many places: one CA, every pair consistent', async (t) => {
  const dir = path.join(root, 'c');
  const all = await Promise.all([
    ...Array.from({ length: 6 }, () => ensureHostCert('h1', { dir })),
    ensureHostCert('h2', { dir }),
    ensureCoordinatorCert({ dir }),
  ]);
  const ca = x509(all[0]!.caFile);
  for (const c of all) {
    t.true(x509(c.certFile).verify(ca.publicKey));
    t.true(keyMatches(c.certFile, c.keyFile));
  }
});

test('a host id that is not one is refused', async (t) => {
  await t.throwsAsync(ensureHostCert('../ca', { dir: path.join(root, 'd') }), { message: /not a host id/ });
  await t.throwsAsync(ensureHostCert('h1/CN=drydock-coordinator', { dir: path.join(root, 'd') }), { message: /not a host id/ });
});
