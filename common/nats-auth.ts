// How a drydock process proves itself to NATS: one of a .creds file,
// user/password or a token, plus the CA of tls:// servers. Agent and
// coordinator configs share these names.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, type ConnectionOptions } from 'nats';

export interface NatsAuth {
  credsFile?: string;
  user?: string;
  password?: string;
  token?: string;
  tlsCaFile?: string;
}

/** The nats.js connection options for `a` (empty when no auth is configured). */
export function natsAuthOptions(a: NatsAuth): Partial<ConnectionOptions> {
  const o: Partial<ConnectionOptions> = {};
  if (a.credsFile) o.authenticator = credsAuthenticator(readFileSync(a.credsFile));
  if (a.user) Object.assign(o, { user: a.user, pass: a.password ?? '' });
  if (a.token) o.token = a.token;
  if (a.tlsCaFile) o.tls = { caFile: a.tlsCaFile };
  return o;
}
