// Test PKI made with openssl (execFile, no shell) in a temp dir: one CA, a
// server certificate for localhost/127.0.0.1, and client certificates by CN
// (URI SANs for drydock's host and coordinator identities: common/identity.mjs).
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const run = promisify(execFile);

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  /** A certificate signed by the CA, with the given CN (and DNS SANs). */
  issue(name: string, opts?: { cn?: string; dns?: string[]; ip?: string[]; uri?: string[]; server?: boolean }): Promise<CertFiles>;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args, { timeout: 20_000 });
}

/** A CA in `dir`; a second call with another dir makes an unrelated CA. */
export async function makePki(dir: string, caName = 'drydock-test-ca'): Promise<TestPki> {
  const caKeyFile = path.join(dir, `${caName}.key`);
  const caFile = path.join(dir, `${caName}.pem`);
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    caKeyFile,
    '-out',
    caFile,
    '-days',
    '2',
    '-subj',
    `/CN=${caName}`,
  ]);
  return {
    dir,
    caFile,
    caKeyFile,
    async issue(name, opts = {}) {
      const keyFile = path.join(dir, `${name}.key`);
      const csr = path.join(dir, `${name}.csr`);
      const certFile = path.join(dir, `${name}.pem`);
      const ext = path.join(dir, `${name}.ext`);
      const sans = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ip ?? []).map((i) => `IP:${i}`), ...(opts.uri ?? []).map((u) => `URI:${u}`)];
      writeFileSync(
        ext,
        [
          'basicConstraints=CA:FALSE',
          `extendedKeyUsage=${opts.server ? 'serverAuth,clientAuth' : 'clientAuth'}`,
          ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
        ].join('\n') + '\n',
      );
      await openssl([
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        csr,
        '-subj',
        `/CN=${opts.cn ?? name}`,
      ]);
      await openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caFile,
        '-CAkey',
        caKeyFile,
        '-set_serial',
        `0x${randomBytes(16).toString('hex')}`,
        '-out',
        certFile,
        '-days',
        '2',
        '-extfile',
        ext,
      ]);
      return { certFile, keyFile };
    },
  };
}
