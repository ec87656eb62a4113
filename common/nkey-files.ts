// NATS nkey identities on disk. A seed file holds one user seed ("SU...",
// the private key) and nothing else, the format of `nk -gen user` and of the
// nats CLI's --nkey; it is written 0600 in a directory made 0700, never
// overwritten, and never logged. The public key ("U...") is what a
// nats-server's config lists (common/nats-permissions.ts). nkeys rather than
// passwords: the server keeps only public keys (its config leaks nothing),
// and the client proves itself by signing the server's nonce, so no secret
// crosses the wire, TLS or not.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nkeys } from 'nats';

/** The part of nkeys.js's KeyPair used here (nats re-exports it untyped). */
interface KeyPair {
  getSeed(): Uint8Array;
  getPublicKey(): string;
}
const keys = nkeys as { createUser(): KeyPair; fromSeed(seed: Uint8Array): KeyPair };

export interface NkeyIdentity {
  /** Public key: goes into the server's config. */
  publicKey: string;
  /** The seed file (0600): given to the client only. */
  seedFile: string;
}

/** Creates `dir` (and parents) and makes it 0700: it holds private keys. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** A new user key pair; the seed is written to `seedFile` (0600, refused if the file exists). */
export function generateSeedFile(seedFile: string): NkeyIdentity {
  const kp = keys.createUser();
  // 'wx': never replace a key someone may still use; 0600 from the first byte.
  writeFileSync(seedFile, `${new TextDecoder().decode(kp.getSeed())}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(seedFile, 0o600);
  return { publicKey: kp.getPublicKey(), seedFile };
}

/** The seed in `seedFile` (an nkey user seed), with its public key. Throws on anything else. */
export function readSeedFile(seedFile: string): { seed: Uint8Array; publicKey: string } {
  const text = readFileSync(seedFile, 'utf8').trim();
  if (!/^SU[A-Z2-7]{56}$/.test(text)) throw new Error(`${seedFile} does not hold an nkey user seed (SU...)`);
  const seed = new TextEncoder().encode(text);
  return { seed, publicKey: keys.fromSeed(seed).getPublicKey() };
}

/** The identity in `seedFile`, generated first if the file does not exist (the coordinator's own key). */
export function ensureSeedFile(seedFile: string): NkeyIdentity {
  makePrivateDir(path.dirname(seedFile));
  try {
    return { publicKey: readSeedFile(seedFile).publicKey, seedFile };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return generateSeedFile(seedFile);
  }
}
