// An in-memory copy of one KV bucket, kept current by a KV watcher, for the
// admin read path: a ListHosts or GetHost must not read 100,000 server
// records from NATS (12-19 s at 5,000 hosts / 100,000 servers).
//
// Reads are as fresh as KV: `sync()` asks the bucket's last revision (one
// small request) and waits until the watcher has applied it, so a read
// reflects every write acknowledged before it began, whichever coordinator
// made the write and whichever serves the read.
//
// A watcher can stall (docs/field-notes.md, NATS: 12 s after a stream leader
// died), so it is never trusted alone: a read that finds it behind for
// catchUpMs reads the missing changes itself, one stream message at a time
// (no consumer), and has the watcher restarted; a health check restarts a
// watcher that stopped advancing while the bucket moved on; a periodic full
// resync re-reads the bucket through plain gets and repairs anything missed. Every value carries its revision; an older revision never
// replaces a newer one, whichever path brings it.
import { KvWatchInclude, type KvEntry, type QueuedIterator } from 'nats';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logging.ts';
import type { Repository, Versioned } from '../store/repository.ts';
import { OrderedKeys, upperBound } from './ordered-keys.ts';

export interface MirrorOptions<T> {
  logger: Logger;
  /** Called for every change applied (an index keeps itself current here). */
  onChange?: (key: string, before: T | null, after: T | null) => void;
  /** How often the watcher's progress is checked against the bucket (ms). */
  healthMs?: number;
  /** How often the whole bucket is re-read and compared (ms). */
  resyncMs?: number;
  /** How long a read waits for the watcher before it reads the missing changes itself (ms). */
  catchUpMs?: number;
}

const dec = new TextDecoder();

export class BucketMirror<T> {
  private readonly entries = new Map<string, Versioned<T>>();
  /** Revisions of deletes, so a late older value cannot bring a deleted key back. Pruned after each resync. */
  private readonly tombstones = new Map<string, number>();
  /** Keys in order (ordered-keys.ts), built once loaded and kept up to date: no read sorts the bucket. */
  readonly order = new OrderedKeys();
  private readonly isLive = (key: string) => this.entries.has(key);
  /** Every bucket message up to this revision is reflected here. */
  private applied = 0;
  private watcher: QueuedIterator<KvEntry> | null = null;
  private watchLoop: Promise<void> | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly stopper = new AbortController();
  private loops: Promise<void>[] = [];
  private resyncing: Promise<void> | null = null;
  private restarting: Promise<void> | null = null;
  private lastWarnMs = 0;
  private readonly log: Logger;
  private readonly healthMs: number;
  private readonly resyncMs: number;
  private readonly catchUpMs: number;
  /** Restarts of the watcher and full resyncs, for tests and logs. */
  readonly stats = { watcherRestarts: 0, resyncs: 0, repaired: 0 };

  constructor(
    private readonly repo: Repository<T>,
    private readonly o: MirrorOptions<T>,
  ) {
    this.log = o.logger.child({ component: 'read-mirror', bucket: repo.what });
    this.healthMs = o.healthMs ?? 5_000;
    this.resyncMs = o.resyncMs ?? 600_000;
    this.catchUpMs = o.catchUpMs ?? 500;
  }

  /** Loads the bucket (resolves once the watcher delivered every key), then follows it. */
  async start(): Promise<void> {
    const target = await this.repo.lastRevision(this.stopper.signal);
    const ready = (await this.startWatcher(0)).ready.then(() => true);
    // nats.js's "initialized" signal counts messages and can miss (its own
    // comment says so when the stream was pruned): the bucket's revision decides too.
    while (!(await Promise.race([ready, sleep(200).then(() => false)]))) {
      if (await this.caughtUp(target)) break;
    }
    // The order of the loaded keys, sorted here once rather than by the first paged read.
    this.order.keys(this.isLive);
    this.loops = [this.healthLoop(), this.resyncLoop()];
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.watcher?.stop();
    await this.watchLoop?.catch(() => undefined);
    await Promise.allSettled([...this.loops, this.resyncing ?? Promise.resolve()]);
    for (const w of this.waiters) w();
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Versioned<T> | undefined {
    return this.entries.get(key);
  }

  /** Every live entry, unordered. Read-only: the objects are this copy's own. */
  values(): IterableIterator<Versioned<T>> {
    return this.entries.values();
  }

  /** The revision up to which this copy reflects the bucket. */
  get revision(): number {
    return this.applied;
  }

  /**
   * Waits until this copy reflects every write acknowledged before the call.
   * A watcher that does not get there within catchUpMs is restarted, and the
   * changes it owes are read here, directly from the stream.
   */
  async sync(signal?: AbortSignal): Promise<void> {
    const target = await this.repo.lastRevision(signal);
    if (this.applied >= target) return;
    if (await this.waitFor(target, Math.min(50, this.catchUpMs), signal)) return;
    if (await this.caughtUp(target, signal)) return;
    if (await this.waitFor(target, this.catchUpMs, signal)) return;
    signal?.throwIfAborted();
    this.warn({ applied: this.applied, target }, 'KV watcher behind: reading the missing changes directly; restarting the watcher');
    void this.restartWatcher();
    await this.readChanges(target, signal);
  }

  /** Applies the stream's changes after `applied` up to `target`, read one by one. */
  private async readChanges(target: number, signal?: AbortSignal): Promise<void> {
    for (let from = this.applied + 1; from <= target;) {
      const c = await this.repo.changeFrom(from, signal);
      if (!c || c.revision > target) break;
      this.apply(c.key, c.revision, c.value);
      from = c.revision + 1;
    }
    this.advance(target);
  }

  /**
   * Up to `limit` live entries with keys after `after` ("" = from the
   * start), in key order, that pass `keep`.
   */
  page(after: string, limit: number, keep: (v: Versioned<T>) => boolean = () => true): Versioned<T>[] {
    const sorted = this.order.keys(this.isLive);
    const out: Versioned<T>[] = [];
    for (let i = after ? upperBound(sorted, after) : 0; i < sorted.length && out.length < limit; i++) {
      const e = this.entries.get(sorted[i]!);
      if (e && keep(e)) out.push(e);
    }
    return out;
  }

  /** Re-reads the whole bucket (plain gets, no consumer) and repairs this copy; one at a time. */
  resync(): Promise<void> {
    this.resyncing ??= this.resyncOnce().finally(() => {
      this.resyncing = null;
    });
    return this.resyncing;
  }

  // ---------------------------------------------------------------- internals

  /** Applies one change unless this copy already holds the key at this revision or a later one. */
  private apply(key: string, revision: number, value: T | null): boolean {
    const cur = this.entries.get(key);
    if (revision <= (cur?.revision ?? this.tombstones.get(key) ?? 0)) return false;
    if (value === null) {
      if (cur) {
        this.entries.delete(key);
        this.order.removed();
      }
      this.tombstones.set(key, revision);
    } else {
      if (!cur) this.order.added(key);
      this.entries.set(key, { key, value, revision });
      this.tombstones.delete(key);
    }
    if (cur || value !== null) this.o.onChange?.(key, cur?.value ?? null, value);
    return true;
  }

  private advance(revision: number): void {
    if (revision <= this.applied) return;
    this.applied = revision;
    for (const w of this.waiters) w();
  }

  /**
   * True when nothing up to `target` remains to apply: the watcher got
   * there, or the messages between are gone (purged delete markers), which
   * no watcher would ever deliver.
   */
  private async caughtUp(target: number, signal?: AbortSignal): Promise<boolean> {
    if (this.applied >= target) return true;
    const next = (await this.repo.changeFrom(this.applied + 1, signal))?.revision ?? 0;
    if (next !== 0 && next <= target) return this.applied >= target;
    this.advance(target);
    return true;
  }

  private async waitFor(target: number, ms: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.applied < target) {
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted || this.stopper.signal.aborted) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
    return true;
  }

  private decode(e: KvEntry): T | null {
    if (e.operation !== 'PUT' || e.value.length === 0) return null;
    return JSON.parse(dec.decode(e.value)) as T;
  }

  /**
   * A watcher from `from` (0: every key's last value, then the changes);
   * resolves once it delivered what the bucket held when it started.
   */
  private async startWatcher(from: number): Promise<{ ready: Promise<void> }> {
    let initialized!: () => void;
    const ready = new Promise<void>((resolve) => (initialized = resolve));
    const w = await this.repo.kv.watch({
      include: from > 0 ? KvWatchInclude.AllHistory : KvWatchInclude.LastValue,
      ...(from > 0 ? { resumeFromRevision: from } : {}),
      initializedFn: () => initialized(),
    });
    this.watcher = w;
    this.watchLoop = (async () => {
      for await (const e of w) {
        try {
          this.apply(e.key, e.revision, this.decode(e));
        } catch (err) {
          // A value that is not JSON: skipped here, as the repository's own reads would fail on it.
          this.warn({ key: e.key, err: errorMessage(err) }, 'KV value not readable: skipped');
        }
        this.advance(e.revision);
      }
    })();
    // The watcher ending early (closed connection) must not leave start() waiting.
    return { ready: Promise.race([ready, this.watchLoop]) };
  }

  /** Replaces the watcher by one resuming after `applied`, then resyncs; concurrent calls share one restart. */
  private restartWatcher(): Promise<void> {
    this.restarting ??= (async () => {
      if (this.stopper.signal.aborted) return;
      this.stats.watcherRestarts++;
      this.watcher?.stop();
      await this.watchLoop?.catch(() => undefined);
      try {
        await this.startWatcher(this.applied + 1);
      } catch (err) {
        this.warn({ err: errorMessage(err) }, 'KV watcher not restarted; the next health check tries again');
      }
      void this.resync().catch(() => undefined);
    })().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  }

  private async resyncOnce(): Promise<void> {
    // Taken before reading: a key missing from the read, held here at this
    // revision or older, was deleted since.
    const before = await this.repo.lastRevision(this.stopper.signal);
    const all = await this.repo.list(this.stopper.signal);
    let repaired = 0;
    const seen = new Set<string>();
    for (const v of all) {
      seen.add(v.key);
      if (this.apply(v.key, v.revision, v.value)) repaired++;
    }
    for (const [key, v] of [...this.entries]) {
      if (!seen.has(key) && v.revision <= before && this.apply(key, before, null)) repaired++;
    }
    // A watcher still behind these deletes would deliver nothing older than
    // `applied` again; tombstones at or below it have done their work.
    for (const [key, rev] of this.tombstones) if (rev <= this.applied && rev <= before) this.tombstones.delete(key);
    this.stats.resyncs++;
    this.stats.repaired += repaired;
    if (repaired > 0) this.warn({ repaired, records: this.entries.size }, 'full resync repaired records the watcher had missed');
  }

  private async healthLoop(): Promise<void> {
    let lagging = false;
    let appliedThen = this.applied;
    while (!this.stopper.signal.aborted) {
      await sleep(this.healthMs, undefined, { signal: this.stopper.signal }).catch(() => undefined);
      if (this.stopper.signal.aborted) return;
      try {
        const last = await this.repo.lastRevision(this.stopper.signal);
        if (await this.caughtUp(last, this.stopper.signal)) {
          lagging = false;
        } else if (lagging && this.applied === appliedThen) {
          // Behind at two checks in a row without moving: stalled.
          this.warn({ applied: this.applied, last }, 'KV watcher stalled: restarting it and re-reading the bucket');
          lagging = false;
          await this.restartWatcher();
        } else {
          lagging = true;
        }
        appliedThen = this.applied;
      } catch (err) {
        if (!this.stopper.signal.aborted) this.warn({ err: errorMessage(err) }, 'KV watcher health check failed');
      }
    }
  }

  private async resyncLoop(): Promise<void> {
    while (!this.stopper.signal.aborted) {
      await sleep(this.resyncMs, undefined, { signal: this.stopper.signal }).catch(() => undefined);
      if (this.stopper.signal.aborted) return;
      await this.resync().catch((err) => {
        if (!this.stopper.signal.aborted) this.warn({ err: errorMessage(err) }, 'full resync failed; the next one tries again');
      });
    }
  }

  /** Warnings at most once every 10 s per bucket: a stalled watcher under read load must not flood the log. */
  private warn(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.lastWarnMs < 10_000) return;
    this.lastWarnMs = now;
    this.log.warn(fields, msg);
  }
}
