// The lab/dev PKI: one CA under .cache/pki/ and, on demand, a certificate per
// host id and the coordinator's client certificate, named as
// common/identity.mjs says. `npm start` and the lab run agents and
// coordinator with mutual TLS from it. Plain Node (set-up runs it before npm
// packages exist); openssl through argument arrays, never a shell.
//
// Idempotent and safe to run from several processes at once: each item is
// made in a private temp directory and renamed into place in one step, so a
// reader sees a whole key + certificate pair or none; the first rename wins.
// Items are re-made when missing, unreadable, about to expire, or (leaf
// certificates) not signed by the current CA.
//
//   .cache/pki/               0700
//     ca/ca.pem, ca/ca.key    the lab CA (10 years)
//     hosts/<id>/cert.pem, key.pem        URI SAN spiffe://drydock/host/<id>, serverAuth
//     coordinator/cert.pem, key.pem       URI SAN spiffe://drydock/coordinator, clientAuth
// Keys are 0600. This CA is for a lab on one machine; production issues
// certificates from the operator's own CA (docs/production.md).
import { X509Certificate, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COORDINATOR_IDENTITY, hostIdentity } from '../common/identity.mjs';
import { run } from './guest/proc.mjs';

export const DEFAULT_PKI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.cache', 'pki');

const CA_DAYS = 3650;
const LEAF_DAYS = 365;
/** A certificate with less than this left is re-made. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
/** The host id rule of common/names.ts (also keeps ids safe as file and subject names). */
const HOST_ID_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;

// A config of our own, so the system's openssl.cnf (which differs between
// distributions) changes nothing.
const REQ_CONFIG = [
  '[req]',
  'distinguished_name = dn',
  'prompt = no',
  '[dn]',
  '[v3_ca]',
  'basicConstraints = critical,CA:TRUE',
  'keyUsage = critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier = hash',
  '',
].join('\n');

function openssl(args) {
  return run('openssl', args);
}

/** The PEM certificate in `file` as an X509Certificate, or null when missing or unreadable. */
async function readCert(file) {
  try {
    return new X509Certificate(await readFile(file));
  } catch {
    return null;
  }
}

function fresh(cert) {
  return Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS;
}

/**
 * Makes `target` (a directory) with `build(tmpDir)` in a private temp dir
 * beside it and renames it into place. `replace`: an existing target is
 * removed first (it was found stale).
 */
async function publish(target, replace, build) {
  const parent = dirname(target);
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(parent, '.tmp-'));
  try {
    await chmod(tmp, 0o700);
    await build(tmp);
    if (replace) await rm(target, { recursive: true, force: true });
    try {
      await rename(tmp, target);
    } catch (err) {
      // Another process published it first: theirs is as good as ours.
      if (err?.code !== 'ENOTEMPTY' && err?.code !== 'EEXIST') throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function newKey(file) {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  await chmod(file, 0o600);
}

/**
 * The lab CA: made if missing or about to expire. Returns its files.
 * @param {{ dir?: string }} [opts] the PKI directory (default .cache/pki)
 * @returns {Promise<{ dir: string, caFile: string, caKeyFile: string }>}
 */
export async function ensureLabCa(opts = {}) {
  const dir = opts.dir ?? DEFAULT_PKI_DIR;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const caDir = join(dir, 'ca');
  const caFile = join(caDir, 'ca.pem');
  const caKeyFile = join(caDir, 'ca.key');
  const cur = await readCert(caFile);
  if (!cur || !cur.ca || !fresh(cur)) {
    await publish(caDir, cur !== null, async (tmp) => {
      const cnf = join(tmp, 'req.cnf');
      await writeFile(cnf, REQ_CONFIG);
      await newKey(join(tmp, 'ca.key'));
      await openssl([
        'req',
        '-new',
        '-x509',
        '-config',
        cnf,
        '-extensions',
        'v3_ca',
        '-key',
        join(tmp, 'ca.key'),
        '-subj',
        '/CN=drydock lab CA',
        '-days',
        String(CA_DAYS),
        '-out',
        join(tmp, 'ca.pem'),
      ]);
      await rm(cnf);
    });
  }
  return { dir, caFile, caKeyFile };
}

/** A leaf certificate in `leafDir` (cert.pem, key.pem) for `cn` with `ext` lines, signed by the CA. */
async function ensureLeaf(ca, leafDir, cn, ext) {
  const certFile = join(leafDir, 'cert.pem');
  const keyFile = join(leafDir, 'key.pem');
  const cur = await readCert(certFile);
  const caCert = await readCert(ca.caFile);
  if (!caCert) throw new Error(`no CA certificate at ${ca.caFile}`);
  if (!cur || !fresh(cur) || !cur.checkIssued(caCert) || !cur.verify(caCert.publicKey)) {
    await publish(leafDir, cur !== null, async (tmp) => {
      const cnf = join(tmp, 'req.cnf');
      const extFile = join(tmp, 'ext.cnf');
      const csr = join(tmp, 'req.csr');
      await writeFile(cnf, REQ_CONFIG);
      await writeFile(extFile, `${ext.join('\n')}\n`);
      await newKey(join(tmp, 'key.pem'));
      await openssl(['req', '-new', '-config', cnf, '-key', join(tmp, 'key.pem'), '-subj', `/CN=${cn}`, '-out', csr]);
      // A random serial: -CAcreateserial would share one serial file between processes.
      await openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca.caFile,
        '-CAkey',
        ca.caKeyFile,
        '-set_serial',
        `0x${randomBytes(16).toString('hex')}`,
        '-days',
        String(LEAF_DAYS),
        '-extfile',
        extFile,
        '-out',
        join(tmp, 'cert.pem'),
      ]);
      await Promise.all([rm(cnf), rm(extFile), rm(csr)]);
    });
  }
  return { certFile, keyFile };
}

/**
 * The agent certificate of host `hostId` (made if needed, with the CA).
 * @param {string} hostId
 * @param {{ dir?: string }} [opts]
 * @returns {Promise<{ certFile: string, keyFile: string, caFile: string }>}
 */
export async function ensureHostCert(hostId, opts = {}) {
  if (!HOST_ID_RE.test(hostId)) throw new Error(`not a host id: ${JSON.stringify(hostId)}`);
  const ca = await ensureLabCa(opts);
  const files = await ensureLeaf(ca, join(ca.dir, 'hosts', hostId), hostId, [
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    // Server only: a host's certificate cannot be used to call another agent.
    'extendedKeyUsage = serverAuth',
    `subjectAltName = URI:${hostIdentity(hostId)}`,
  ]);
  return { ...files, caFile: ca.caFile };
}

/**
 * The coordinator's client certificate (made if needed, with the CA).
 * @param {{ dir?: string }} [opts]
 * @returns {Promise<{ certFile: string, keyFile: string, caFile: string }>}
 */
export async function ensureCoordinatorCert(opts = {}) {
  const ca = await ensureLabCa(opts);
  const files = await ensureLeaf(ca, join(ca.dir, 'coordinator'), 'drydock-coordinator', [
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = clientAuth',
    `subjectAltName = URI:${COORDINATOR_IDENTITY}`,
  ]);
  return { ...files, caFile: ca.caFile };
}
