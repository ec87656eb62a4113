// A typed view of one KV bucket where every write is compare-and-swap on the
// key's revision: `kv.create` for new keys, `kv.update(key, value, rev)` for
// existing ones. Changes are pure functions of the current value; on a lost
// CAS the record is re-read and the function applied again, so a concurrent
// writer's change is never overwritten. A function that changes nothing
// skips the write (no revision churn, no watcher noise).
import type { KV, KvEntry, JetStreamManager } from 'nats';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../common/errors.ts';
import { CasConflictError, DEFAULT_RETRY, StoreFullError, conflictBackoff, isCasConflict, retryTransient, type RetryPolicy } from './retry.ts';
import type { StoreCondition } from './condition.ts';

export interface Versioned<T> {
  key: string;
  value: T;
  /** KV revision (stream sequence) of this value: the CAS token. */
  revision: number;
}

export interface MutationResult<T> extends Versioned<T> {
  /** False when the mutation returned the value unchanged (no write happened). */
  changed: boolean;
  /** CAS conflicts met on the way (for tests and metrics). */
  conflicts: number;
}

/**
 * A pure change: gets a private copy of the current value and returns the new
 * one, or `undefined` to leave the record as it is. It may run several times
 * (once per CAS round) and must not have side effects. It may throw a typed
 * error (e.g. FailedPreconditionError) to refuse the change.
 */
export type Mutation<T> = (current: T) => T | undefined;
export type Upsert<T> = (current: T | null) => T | undefined;

const enc = new TextEncoder();
/** nats.js's own rule for a KV key (kv.ts validateKey), checked here first so a bad key is a typed error. */
const KV_KEY = /^[-/=\w]+(\.[-/=\w]+)*$/;
const dec = new TextDecoder();

/** A member JSON.stringify leaves out of an object (and writes as null in an array). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/**
 * Whether two values are the same once stored as JSON, key order aside:
 * compared member by member (stringifying both with sorted keys cost an
 * operation's every write a few ms once its header grew with a drain).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return JSON.stringify(a) === JSON.stringify(b);
  // Dates and the like: as JSON writes them.
  if (typeof (a as { toJSON?: unknown }).toJSON === 'function' || typeof (b as { toJSON?: unknown }).toJSON === 'function')
    return JSON.stringify(a) === JSON.stringify(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(omitted(a[i]) ? null : a[i], omitted(b[i]) ? null : b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k of Object.keys(x)) {
    if (omitted(x[k])) continue;
    n++;
    if (!Object.hasOwn(y, k) || omitted(y[k]) || !sameValue(x[k], y[k])) return false;
  }
  for (const k of Object.keys(y)) if (!omitted(y[k])) n--;
  return n === 0;
}

export class Repository<T> {
  constructor(
    readonly kv: KV,
    /** What the records are, for errors: "zone", "host", "server". */
    readonly what: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** Told whether each write landed or met a full store (shared by the store's repositories). */
    private readonly condition?: StoreCondition,
  ) {}

  /** A KV write, reported to the store condition: landed, or refused for lack of storage. */
  private async written<R>(what: string, write: () => Promise<R>, signal?: AbortSignal): Promise<R> {
    try {
      const r = await retryTransient(what, write, this.retry, signal);
      this.condition?.noteWritten();
      return r;
    } catch (err) {
      if (err instanceof StoreFullError) this.condition?.noteFull(err);
      throw err;
    }
  }

  private decode(e: KvEntry): Versioned<T> | null {
    if (e.operation !== 'PUT' || e.value.length === 0) return null;
    return { key: e.key, value: JSON.parse(dec.decode(e.value)) as T, revision: e.revision };
  }

  /**
   * Refuses a key nats.js would refuse ("invalid key: ", a bare Error) before
   * any KV call: an empty id reaching the store is a bug upstream, and its
   * error must say which record it was for.
   */
  private checkKey(key: string): void {
    if (!KV_KEY.test(key))
      throw new InvalidArgumentError(`${this.what} id`, `${JSON.stringify(key.slice(0, 64))} is not a valid KV key (letters, digits, - / = _ and inner dots)`);
  }

  async get(key: string, signal?: AbortSignal): Promise<Versioned<T> | null> {
    this.checkKey(key);
    const e = await retryTransient(`get ${this.what} ${key}`, () => this.kv.get(key), this.retry, signal);
    return e ? this.decode(e) : null;
  }

  /** Like get, NOT_FOUND when absent. */
  async require(key: string, signal?: AbortSignal): Promise<Versioned<T>> {
    const v = await this.get(key, signal);
    if (!v) throw new NotFoundError(this.what, key);
    return v;
  }

  /**
   * Keys of the bucket. Asked as one stream-info request (the subjects the
   * stream holds) rather than kv.keys(), whose ordered consumer can stall
   * for seconds after a cluster node dies (docs/field-notes.md, NATS). Keys whose latest
   * entry is a delete marker are listed too; get() filters them out.
   */
  async keys(signal?: AbortSignal): Promise<string[]> {
    const s = this.stream();
    return retryTransient(
      `list ${this.what} keys`,
      async () => {
        if (s) {
          const info = await s.jsm.streams.info(s.name, { subjects_filter: `${s.prefix}>` });
          return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(s.prefix.length));
        }
        const out: string[] = [];
        for await (const k of await this.kv.keys()) out.push(k);
        return out;
      },
      this.retry,
      signal,
    );
  }

  /**
   * Every live record, sorted by key: 64 reads in flight, each worker taking
   * the next key by index (taking them with queue.shift() copied the rest of
   * the array on every read: 5.4 s of a 100,000-key list, 28 s at 200,000).
   */
  async list(signal?: AbortSignal): Promise<Versioned<T>[]> {
    const keys = await this.keys(signal);
    const out: Versioned<T>[] = [];
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const v = await this.get(keys[next++]!, signal);
        if (v) out.push(v);
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, keys.length) }, worker));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The bucket's stream: its name, its manager and the subject prefix of its keys (null for a KV without them, e.g. a fake). */
  private stream(): { jsm: JetStreamManager; name: string; prefix: string } | null {
    const b = this.kv as Partial<{ jsm: JetStreamManager; stream: string; bucket: string }>;
    return b.jsm && b.stream && b.bucket ? { jsm: b.jsm, name: b.stream, prefix: `$KV.${b.bucket}.` } : null;
  }

  /**
   * The revision of the bucket's last write (the stream's last sequence;
   * 0 when empty). Every write acknowledged before this call has a revision
   * at most this. One small request: no subjects are listed.
   */
  async lastRevision(signal?: AbortSignal): Promise<number> {
    const s = this.stream();
    if (!s) throw new Error(`${this.what} bucket has no stream to ask`);
    return retryTransient(`last revision of ${this.what}`, async () => (await s.jsm.streams.info(s.name)).state.last_seq, this.retry, signal);
  }

  /**
   * The bucket's first change at revision `from` or later that it still
   * holds (null when none): a put (value) or a delete/purge (null value).
   * A message below the last revision may have been purged (the delete
   * markers housekeeping removes): a reader waiting for it would wait forever.
   * `keys`: a subject pattern of keys to look at (default every key), e.g.
   * "op-1.>" for the keys under "op-1.".
   */
  async changeFrom(from: number, signal?: AbortSignal, keys = '>'): Promise<{ key: string; revision: number; value: T | null } | null> {
    const s = this.stream();
    if (!s) throw new Error(`${this.what} bucket has no stream to ask`);
    const m = await retryTransient(
      `next change of ${this.what}`,
      async () => {
        try {
          // STREAM.MSG.GET's next_by_subj (nats-server 2.9+); nats.js types it only for direct gets.
          const query = { seq: from, next_by_subj: `${s.prefix}${keys}` } as unknown as Parameters<JetStreamManager['streams']['getMessage']>[1];
          return await s.jsm.streams.getMessage(s.name, query);
        } catch (err) {
          // JetStream's "no message found" (404, code 10037).
          if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === 10037 || /no message found/i.test(String(err))) return null;
          throw err;
        }
      },
      this.retry,
      signal,
    );
    if (!m) return null;
    const op = m.header?.get('KV-Operation');
    const live = !op && m.data.length > 0;
    return { key: m.subject.slice(s.prefix.length), revision: m.seq, value: live ? (JSON.parse(dec.decode(m.data)) as T) : null };
  }

  /**
   * Removes every value of the keys matching `keys` (a subject pattern such
   * as "op-1.>") from the bucket, history and delete markers included, in
   * one request. Only for keys nobody writes any more (an archived
   * operation's steps): a write racing the purge may be lost.
   */
  async purgeKeys(keys: string, signal?: AbortSignal): Promise<number> {
    const s = this.stream();
    if (!s) throw new Error(`${this.what} bucket has no stream to purge`);
    return retryTransient(
      `purge ${this.what} ${keys}`,
      async () => (await s.jsm.streams.purge(s.name, { filter: `${s.prefix}${keys}` })).purged,
      this.retry,
      signal,
    );
  }

  /** Writes a new record; ALREADY_EXISTS if the key holds one. */
  async create(key: string, value: T, signal?: AbortSignal): Promise<Versioned<T>> {
    this.checkKey(key);
    try {
      const revision = await this.written(`create ${this.what} ${key}`, () => this.kv.create(key, enc.encode(JSON.stringify(value))), signal);
      return { key, value, revision };
    } catch (err) {
      if (!isCasConflict(err)) throw err;
      // A retried create whose first try did land (reply lost) conflicts with
      // itself: the stored value is ours, so the create did succeed.
      const cur = await this.get(key, signal);
      if (cur && sameValue(cur.value, value)) return cur;
      throw new AlreadyExistsError(this.what, key, { cause: err });
    }
  }

  /**
   * One CAS write at an exact revision; CasConflictError if someone wrote in
   * between. For callers that hold a revision from an earlier read (the
   * lease, an operation's state machine) and must not re-apply blindly.
   */
  async updateAt(key: string, value: T, revision: number, signal?: AbortSignal): Promise<Versioned<T>> {
    this.checkKey(key);
    try {
      const rev = await this.written(`update ${this.what} ${key}`, () => this.kv.update(key, enc.encode(JSON.stringify(value)), revision), signal);
      return { key, value, revision: rev };
    } catch (err) {
      if (isCasConflict(err)) throw new CasConflictError(key, { cause: err });
      throw err;
    }
  }

  /** Applies `fn` to an existing record with CAS; NOT_FOUND if absent. */
  mutate(key: string, fn: Mutation<T>, signal?: AbortSignal): Promise<MutationResult<T>> {
    return this.upsert(
      key,
      (cur) => {
        if (cur === null) throw new NotFoundError(this.what, key);
        return fn(cur);
      },
      signal,
    );
  }

  /**
   * mutate, computed first on a value already at hand (`known`, e.g. the
   * read model's copy) and written with CAS at its revision: no read when
   * that copy is current. When it is not (a conflict), or the change leaves
   * it as it is (the stored value may differ), as mutate.
   */
  async mutateFrom(known: Versioned<T> | undefined, key: string, fn: Mutation<T>, signal?: AbortSignal): Promise<MutationResult<T>> {
    if (known && known.key === key) {
      const next = fn(structuredClone(known.value));
      if (next !== undefined && !sameValue(next, known.value)) {
        try {
          return { ...(await this.updateAt(key, next, known.revision, signal)), changed: true, conflicts: 0 };
        } catch (err) {
          if (!(err instanceof CasConflictError)) throw err;
        }
      }
    }
    return this.mutate(key, fn, signal);
  }

  /**
   * Creates or changes a record with CAS: `fn(null)` for a missing key
   * (written with kv.create), `fn(current)` otherwise (kv.update at the read
   * revision). On a conflict: re-read, re-apply, at most
   * `conflictAttempts` rounds, then CasConflictError (ABORTED).
   */
  async upsert(key: string, fn: Upsert<T>, signal?: AbortSignal): Promise<MutationResult<T>> {
    let conflicts = 0;
    for (let round = 0; ; round++) {
      signal?.throwIfAborted();
      const cur = await this.get(key, signal);
      // A private copy: the function may edit it in place without touching `cur`.
      const next = fn(cur ? structuredClone(cur.value) : null);
      if (next === undefined || (cur && sameValue(next, cur.value))) {
        if (!cur) throw new NotFoundError(this.what, key);
        return { ...cur, changed: false, conflicts };
      }
      try {
        const written = cur ? await this.updateAt(key, next, cur.revision, signal) : await this.createRaw(key, next, signal);
        return { ...written, changed: true, conflicts };
      } catch (err) {
        if (!(err instanceof CasConflictError)) throw err;
        conflicts++;
        if (round + 1 >= this.retry.conflictAttempts) throw err;
        await conflictBackoff(round, signal);
      }
    }
  }

  /** The same bucket with another retry policy (the lease wants none). */
  withRetry(policy: RetryPolicy): Repository<T> {
    return new Repository<T>(this.kv, this.what, policy, this.condition);
  }

  /** Creates a new key; CasConflictError (not ALREADY_EXISTS) if it exists. */
  createOrConflict(key: string, value: T, signal?: AbortSignal): Promise<Versioned<T>> {
    return this.createRaw(key, value, signal);
  }

  private async createRaw(key: string, value: T, signal?: AbortSignal): Promise<Versioned<T>> {
    this.checkKey(key);
    try {
      const revision = await this.written(`create ${this.what} ${key}`, () => this.kv.create(key, enc.encode(JSON.stringify(value))), signal);
      return { key, value, revision };
    } catch (err) {
      if (isCasConflict(err)) throw new CasConflictError(key, { cause: err });
      throw err;
    }
  }

  /** Deletes with CAS at `revision` (CasConflictError if it changed since). */
  async deleteAt(key: string, revision: number, signal?: AbortSignal): Promise<void> {
    this.checkKey(key);
    try {
      await this.written(`delete ${this.what} ${key}`, () => this.kv.delete(key, { previousSeq: revision }), signal);
    } catch (err) {
      if (isCasConflict(err)) throw new CasConflictError(key, { cause: err });
      throw err;
    }
  }

  /**
   * Deletes the record if `shouldDelete(current)` still holds at the moment
   * of the delete (CAS; re-checked after a conflict). Returns whether it did.
   */
  async deleteIf(key: string, shouldDelete: (current: T) => boolean, signal?: AbortSignal): Promise<boolean> {
    for (let round = 0; ; round++) {
      const cur = await this.get(key, signal);
      if (!cur || !shouldDelete(structuredClone(cur.value))) return false;
      try {
        await this.deleteAt(key, cur.revision, signal);
        return true;
      } catch (err) {
        if (!(err instanceof CasConflictError) || round + 1 >= this.retry.conflictAttempts) throw err;
        await conflictBackoff(round, signal);
      }
    }
  }
}
