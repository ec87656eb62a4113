// The users file (auth.tokenFile): who may call the admin API, how they
// prove it, and what they may do. Tokens are stored hashed only:
//
//   users:
//     alice:
//       # printf %s "$TOKEN" | sha256sum
//       tokenSha256: 9f86d081884c7d65...
//       # or: tokenScrypt: "scrypt$16384$8$1$<salt base64>$<hash base64>"
//       roles: [operator]
//       permissions: ["Set maintenance mode for any compute resource"]
//       # mTLS: certificate CN or subjectAltName (DNS/URI/email) naming alice
//       certificateNames: [alice.ops.example.com]
//
// Re-read on SIGHUP (`systemctl reload drydock-coordinator`): a file that
// does not parse is refused and the users in force stay.
//
// Verification compares in constant time and always walks every user, so
// the time taken says nothing about which user (or how much of a token) matched.
//
// scrypt is slow on purpose, so it never runs on the event loop: hashes go
// through a bounded queue (auth/hash-queue.ts) to libuv's threadpool, and a
// token verified once is remembered by its sha256 until the file is replaced.
import { createHash, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { ConfigError, parseStringList, readYamlFile } from '../../common/config.ts';
import { HashQueue } from './hash-queue.ts';
import { normalizePermission, PERMISSIONS } from './permissions.ts';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

export interface UserEntry {
  name: string;
  /** sha256(token), 32 bytes; null when the user has none. */
  sha256: Buffer | null;
  scrypt: { n: number; r: number; p: number; salt: Buffer; hash: Buffer } | null;
  roles: string[];
  permissions: string[];
  certificateNames: string[];
}

export interface UsersFile {
  users: UserEntry[];
}

const SCRYPT_RE = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export function parseUsers(doc: Record<string, unknown>, roles: Record<string, string[]>, where = 'tokenFile'): UsersFile {
  const usersRaw = doc.users ?? {};
  for (const k of Object.keys(doc)) if (k !== 'users') throw new ConfigError(`${where}.${k}`, 'unknown option (known: users)');
  if (typeof usersRaw !== 'object' || usersRaw === null || Array.isArray(usersRaw))
    throw new ConfigError(`${where}.users`, 'expected a mapping of user name → entry');
  const users: UserEntry[] = [];
  const certOwners = new Map<string, string>();
  for (const [name, raw] of Object.entries(usersRaw as Record<string, unknown>)) {
    const at = `${where}.users.${name}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(at, 'expected a mapping');
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!['tokenSha256', 'tokenScrypt', 'roles', 'permissions', 'certificateNames'].includes(k)) {
        throw new ConfigError(`${at}.${k}`, 'unknown option (known: certificateNames, permissions, roles, tokenScrypt, tokenSha256)');
      }
    }
    let sha256: Buffer | null = null;
    if (e.tokenSha256 !== undefined) {
      if (typeof e.tokenSha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e.tokenSha256)) throw new ConfigError(`${at}.tokenSha256`, 'expected 64 hex digits');
      sha256 = Buffer.from(e.tokenSha256, 'hex');
    }
    let scrypt: UserEntry['scrypt'] = null;
    if (e.tokenScrypt !== undefined) {
      const m = typeof e.tokenScrypt === 'string' ? SCRYPT_RE.exec(e.tokenScrypt) : null;
      if (!m) throw new ConfigError(`${at}.tokenScrypt`, 'expected scrypt$N$r$p$<salt b64>$<hash b64>');
      scrypt = { n: Number(m[1]), r: Number(m[2]), p: Number(m[3]), salt: Buffer.from(m[4]!, 'base64'), hash: Buffer.from(m[5]!, 'base64') };
    }
    const userRoles = e.roles === undefined ? [] : parseStringList(e.roles, `${at}.roles`);
    for (const r of userRoles)
      if (!roles[r]) throw new ConfigError(`${at}.roles`, `unknown role ${JSON.stringify(r)} (known: ${Object.keys(roles).join(', ')})`);
    const permissions = (e.permissions === undefined ? [] : parseStringList(e.permissions, `${at}.permissions`)).map(normalizePermission);
    for (const p of permissions) {
      if (p !== '*' && !(PERMISSIONS as readonly string[]).includes(p)) throw new ConfigError(`${at}.permissions`, `unknown permission ${JSON.stringify(p)}`);
    }
    const certificateNames = e.certificateNames === undefined ? [] : parseStringList(e.certificateNames, `${at}.certificateNames`);
    for (const c of certificateNames) {
      const owner = certOwners.get(c);
      if (owner) throw new ConfigError(`${at}.certificateNames`, `${JSON.stringify(c)} already names user ${owner}`);
      certOwners.set(c, name);
    }
    users.push({ name, sha256, scrypt, roles: userRoles, permissions, certificateNames });
  }
  return { users };
}

export function loadUsersFile(file: string, roles: Record<string, string[]>): UsersFile {
  if (!file) return { users: [] };
  return parseUsers(readYamlFile(file, true), roles, 'auth.tokenFile');
}

/** sha256 hex of a token: what goes into tokenSha256. */
export function hashTokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** An scrypt entry for tokenScrypt (salt random unless given). Synchronous: for tools and tests, never the request path. */
export function hashTokenScrypt(token: string, salt: Buffer, n = 16384, r = 8, p = 1): string {
  const hash = scryptSync(token, salt, 32, { N: n, r, p });
  return `scrypt$${n}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export interface TokenVerifierOptions {
  /** scrypt hashes run at once (on libuv's threadpool). */
  hashConcurrency: number;
  /** Verifications waiting for a hash slot; beyond it the call is refused (UNAVAILABLE). */
  hashQueue: number;
  /** Called once per scrypt hash computed (the metrics counter). */
  onHash?: () => void;
}

export class TokenVerifier {
  /** sha256(token) hex → user, for scrypt tokens already verified (scrypt is slow on purpose). */
  private readonly scryptCache = new Map<string, string>();
  private readonly queue: HashQueue;

  constructor(
    private file: UsersFile,
    private readonly opts: TokenVerifierOptions = { hashConcurrency: 1, hashQueue: 16 },
  ) {
    this.queue = new HashQueue({ concurrency: opts.hashConcurrency, maxQueued: opts.hashQueue });
  }

  /** How many users the current file holds. */
  get userCount(): number {
    return this.file.users.length;
  }

  /**
   * Swaps in a re-read users file (SIGHUP): calls already past
   * authentication finish as they are, the next ones see the new file. The
   * scrypt cache goes with the old file, so a revoked token stops at once.
   */
  replace(file: UsersFile): void {
    this.file = file;
    this.scryptCache.clear();
  }

  /**
   * The cheap part of verification, on the event loop: sha256 tokens and
   * scrypt tokens verified before. The user, null when no user can hold this
   * token, or undefined when only scrypt hashing can tell (see `hashed`).
   */
  quick(token: string): UserEntry | null | undefined {
    if (!token) return null;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: UserEntry | null = null;
    for (const u of this.file.users) {
      // No early exit: every user is compared, whatever matched.
      if (u.sha256 && timingSafeEqual(u.sha256, digest) && !found) found = u;
    }
    if (found) return found;
    const cached = this.scryptCache.get(digest.toString('hex'));
    if (cached) return this.file.users.find((u) => u.name === cached) ?? null;
    return this.file.users.some((u) => u.scrypt) ? undefined : null;
  }

  /**
   * The costly part: the token against every scrypt user, off the event
   * loop, through the hash queue (`peer` and `clean` place it there; see
   * auth/hash-queue.ts). Rejects with HashQueueFullError when the queue is
   * full, or the signal's reason if the call goes away while waiting.
   */
  async hashed(token: string, peer: string, clean: boolean, signal?: AbortSignal): Promise<UserEntry | null> {
    const file = this.file;
    const found = await this.queue.run(peer, clean, () => this.scryptAll(file, token), signal);
    // The file was replaced while hashing: judge the token by the file in force now.
    if (file !== this.file) {
      const now = this.quick(token);
      return now === undefined ? this.hashed(token, peer, clean, signal) : now;
    }
    if (found) this.scryptCache.set(createHash('sha256').update(token, 'utf8').digest('hex'), found.name);
    return found;
  }

  private async scryptAll(file: UsersFile, token: string): Promise<UserEntry | null> {
    let found: UserEntry | null = null;
    for (const u of file.users) {
      if (!u.scrypt) continue;
      const h = await scryptAsync(token, u.scrypt.salt, u.scrypt.hash.length, { N: u.scrypt.n, r: u.scrypt.r, p: u.scrypt.p, maxmem: 256 * 1024 * 1024 });
      this.opts.onHash?.();
      if (timingSafeEqual(h, u.scrypt.hash) && !found) found = u;
    }
    return found;
  }

  /** The user a verified client certificate name maps to, or null. */
  byCertificateName(names: string[]): UserEntry | null {
    for (const u of this.file.users) if (u.certificateNames.some((c) => names.includes(c))) return u;
    return null;
  }
}

/** Every permission a user holds (roles expanded; "*" = all). */
export function effectivePermissions(user: UserEntry, roles: Record<string, string[]>): Set<string> {
  const out = new Set(user.permissions);
  for (const r of user.roles) for (const p of roles[r] ?? []) out.add(p);
  return out;
}
