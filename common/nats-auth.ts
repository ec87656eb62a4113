// How a drydock process proves itself to NATS: one of an nkey seed file, a
// .creds file, user/password or a token, plus the CA of tls:// servers.
// Agent and coordinator configs share these names. Connecting with none of
// them is anonymous, which only an insecure mode asked for by name allows
// (docs/design.md, invariant 9): checkNatsAuth is that rule.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from 'nats';
import { ConfigError } from './config.ts';
import { readSeedFile } from './nkey-files.ts';

export interface NatsAuth {
  /** An nkey user seed file (common/nkey-files.ts): what `issue-host-credentials` writes. */
  nkeySeedFile?: string;
  credsFile?: string;
  user?: string;
  password?: string;
  token?: string;
  tlsCaFile?: string;
}

/**
 * The credential rules of a config's `nats` section: at most one kind,
 * user and password together, and — with servers configured — at least one
 * unless `insecureNoAuth` is set.
 */
/** The config keys of a NatsAuth under `nats.` (agent and coordinator configs share them). */
export const NATS_AUTH_KEYS = [
  'nats.nkeySeedFile',
  'nats.credsFile',
  'nats.user',
  'nats.password',
  'nats.token',
  'nats.tlsCaFile',
  'nats.insecureNoAuth',
] as const;

export function checkNatsAuth(a: NatsAuth & { servers: string[]; insecureNoAuth: boolean }): void {
  // nats://user:password@host and nats://token@host carry credentials too (nats.js uses them).
  const inUrl = a.servers.some((s) => /^[a-z]+:\/\/[^/@\s]+@/i.test(s));
  const kinds = [a.nkeySeedFile, a.credsFile, a.user, a.token, inUrl].filter(Boolean).length;
  if (kinds > 1) throw new ConfigError('nats', 'nkeySeedFile, credsFile, user/password, token and credentials in the server URLs are alternatives: set one');
  if (Boolean(a.user) !== Boolean(a.password)) throw new ConfigError('nats.user', 'user and password go together');
  if (a.servers.length > 0 && kinds === 0 && !a.insecureNoAuth) {
    throw new ConfigError(
      'nats',
      'no credentials for the NATS servers (nkeySeedFile, credsFile, user/password, token, or user-info in the URLs): anonymous NATS needs nats.insecureNoAuth: true',
    );
  }
  if (a.insecureNoAuth && kinds > 0) throw new ConfigError('nats.insecureNoAuth', 'credentials are set: remove them or insecureNoAuth');
}

/** The nats.js connection options for `a` (empty when no auth is configured). */
export function natsAuthOptions(a: NatsAuth): Partial<ConnectionOptions> {
  const o: Partial<ConnectionOptions> = {};
  // Read once here: a seed file that is missing or wrong fails the start, not every reconnect.
  if (a.nkeySeedFile) o.authenticator = nkeyAuthenticator(readSeedFile(a.nkeySeedFile).seed);
  if (a.credsFile) o.authenticator = credsAuthenticator(readFileSync(a.credsFile));
  if (a.user) Object.assign(o, { user: a.user, pass: a.password ?? '' });
  if (a.token) o.token = a.token;
  if (a.tlsCaFile) o.tls = { caFile: a.tlsCaFile };
  return o;
}
