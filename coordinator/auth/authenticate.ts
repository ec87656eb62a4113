// Who is calling: a bearer token (authorization metadata) or a verified mTLS
// client certificate. A token, when present, decides (a wrong token is
// UNAUTHENTICATED even over a good certificate: the caller said who it is).
// Then: does that user hold the method's permission.
//
// A token that only scrypt can judge costs a hash, so each peer has a budget
// of failed attempts (auth/failure-limiter.ts): out of budget, such a token
// is refused with RESOURCE_EXHAUSTED without hashing. Tokens the cheap checks
// accept (sha256 tokens, scrypt tokens verified before) pass whatever the
// peer's budget: a valid user behind the same address as a guesser still
// gets in.
import type * as grpc from '@grpc/grpc-js';
import { PermissionDeniedError, ResourceExhaustedError, UnauthenticatedError } from '../../common/errors.ts';
import type { AttemptOutcome, FailureLimiter } from './failure-limiter.ts';
import { peerKey } from './peer.ts';
import { effectivePermissions, type TokenVerifier, type UserEntry } from './tokens.ts';
import { MAINTENANCE_PERMISSION_TITLE, METHOD_PERMISSIONS } from './permissions.ts';

export interface Principal {
  user: string;
  via: 'token' | 'certificate';
  permissions: Set<string>;
}

/** Certificate names a client certificate offers: CN and subjectAltName entries. */
export function certificateNames(cert: { subject?: Record<string, string | string[]>; subjectaltname?: string } | undefined): string[] {
  if (!cert) return [];
  const out: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') out.push(cn);
  else if (Array.isArray(cn)) out.push(...cn);
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*(DNS|URI|email|IP Address):(.+)$/.exec(part);
    if (m) out.push(m[2]!.trim());
  }
  return out;
}

/** A peer out of its budget of failed token attempts. */
export class TooManyFailuresError extends ResourceExhaustedError {
  constructor(peer: string, retryInMs: number) {
    super(`too many failed token attempts from ${peer}: retry in ${Math.max(1, Math.ceil(retryInMs / 1000))}s`);
  }
}

export class Authenticator {
  constructor(
    private readonly tokens: TokenVerifier,
    private readonly roles: Record<string, string[]>,
    private readonly failures: FailureLimiter,
  ) {}

  private principal(u: UserEntry, via: Principal['via']): Principal {
    return { user: u.name, via, permissions: effectivePermissions(u, this.roles) };
  }

  /**
   * The caller, or UnauthenticatedError saying why not (TooManyFailuresError
   * when the peer is out of attempts, HashQueueFullError when hashing is
   * saturated). `signal`: the call went away; stop waiting for a hash slot.
   */
  async authenticate(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext' | 'getPeer'>, signal?: AbortSignal): Promise<Principal> {
    const auth = call.metadata.get('authorization');
    if (auth.length > 0) {
      if (auth.length > 1) throw new UnauthenticatedError('more than one authorization header');
      const m = /^Bearer\s+(\S+)\s*$/i.exec(String(auth[0]));
      if (!m) throw new UnauthenticatedError('authorization must be "Bearer <token>"');
      const u = await this.verifyToken(m[1]!, peerKey(call.getPeer()), signal);
      if (!u) throw new UnauthenticatedError('invalid token');
      return this.principal(u, 'token');
    }
    // getAuthContext carries a certificate only if TLS verified it against admin.tls.clientCaFile.
    const names = certificateNames(call.getAuthContext()?.sslPeerCertificate as Parameters<typeof certificateNames>[0]);
    if (names.length > 0) {
      const u = this.tokens.byCertificateName(names);
      if (!u) throw new UnauthenticatedError(`client certificate ${JSON.stringify(names[0])} is not mapped to a user`);
      return this.principal(u, 'certificate');
    }
    throw new UnauthenticatedError('credentials required: a client certificate or "authorization: Bearer <token>"');
  }

  private async verifyToken(token: string, peer: string, signal?: AbortSignal): Promise<UserEntry | null> {
    const quick = this.tokens.quick(token);
    if (quick !== undefined) return quick;
    // Asked before taking: a peer with nothing gone wrong lately goes in the fast lane.
    const clean = this.failures.isClean(peer);
    const wait = this.failures.take(peer);
    if (wait > 0) throw new TooManyFailuresError(peer, wait);
    let outcome: AttemptOutcome = 'unchecked';
    try {
      const u = await this.tokens.hashed(token, peer, clean, signal);
      outcome = u ? 'valid' : 'wrong';
      return u;
    } finally {
      // Only a token found wrong spends the attempt (not one refused unhashed: queue full, caller gone).
      this.failures.settle(peer, outcome);
    }
  }

  /** PermissionDeniedError unless the principal holds the method's permission. */
  authorize(p: Principal, method: string): void {
    const needed = METHOD_PERMISSIONS[method];
    // A method missing from the table is denied: fail closed.
    if (!needed) throw new PermissionDeniedError(`(no permission defined for ${method})`, p.user);
    if (p.permissions.has('*') || p.permissions.has(needed)) return;
    throw new PermissionDeniedError(needed === 'maintenance.manage' ? `${MAINTENANCE_PERMISSION_TITLE} (maintenance.manage)` : needed, p.user);
  }
}
