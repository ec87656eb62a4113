// Operation records plus their event log, written together: a change to a
// record (CAS on each key it touches) is followed by the events describing
// it. Events are published after the write succeeds, so an event never
// describes a state that was not stored.
//
// A record is stored as a header and one entry per step (op-layout.ts); a
// change is a pure function of the whole record, and only the keys whose
// value it changed are written, each with CAS at the revision read. When a
// change touches both, the header goes first, except when the change stops
// the operation (paused or ended): then its steps go first, so a stopped
// operation never shows steps that a crash between the writes left behind.
// Either way a crash in between leaves a state the next pass resumes from.
//
// Writes by a leader's workers are fenced (fenced()): the lease term
// (coordinator/leader.ts) is the token, stored in the header as leaderTerm.
// A fenced write always writes the header with CAS first (a stopping one
// re-writes the header as read, then its steps, then the new header), so it
// fails if a newer leader wrote in between, and a write whose term is older
// than the stored one is refused with FencedWriteError: a deposed leader's
// pass (its CAS retries included) never lands on the new leader's record.
import { FailedPreconditionError, NotFoundError } from '../../common/errors.ts';
import { sameValue, type Repository, type Versioned } from '../store/repository.ts';
import { CasConflictError, conflictBackoff, DEFAULT_RETRY, type RetryPolicy } from '../store/retry.ts';
import { isTerminal, type OperationRecord, type OperationState, type StepRecord } from './types.ts';
import { assemble, cloneStep, headerOf, isLegacyRecord, sameStep, stepKey, type ActiveEntry, type OperationHeader, type StoredStep } from './op-layout.ts';
import { StepCache, type StepEntry } from './step-cache.ts';
import type { OperationEventBody, OperationEventLog, OperationEventType } from './events.ts';

export interface EventSpec {
  type: OperationEventType;
  message: string;
  step?: StepRecord;
}

/** The three buckets of operations (common/subjects.ts). */
export interface OperationBuckets {
  headers: Repository<OperationHeader>;
  steps: Repository<StoredStep>;
  active: Repository<ActiveEntry>;
}

interface Current {
  header: Versioned<OperationHeader>;
  steps: StepEntry[];
}

/** A leader's write refused: a leader of a newer term has written the operation (its worker must stop). */
export class FencedWriteError extends FailedPreconditionError {
  constructor(
    readonly operationId: string,
    readonly term: number,
    readonly storedTerm: number,
  ) {
    super(`operation ${operationId}: write of leader term ${term} refused, a leader of term ${storedTerm} has written it`);
  }
}

/** Writes at once when creating the steps of an operation. */
const CREATE_CONCURRENCY = 32;

/** A caller's change waiting for (or in) its operation's next write round. */
interface Pending {
  change: (op: OperationRecord) => OperationRecord | undefined;
  describe: (op: OperationRecord) => EventSpec[];
  signal: AbortSignal | undefined;
  resolve: (op: OperationRecord) => void;
  reject: (err: unknown) => void;
  /** Its change returned a record in the last round applied. */
  changed: boolean;
  /** The steps its change may change (update()); undefined: any. */
  touches: readonly number[] | undefined;
}

export class OperationStore {
  private readonly cache: StepCache;
  /** Operations with a write round in flight through this store: the changes that arrived since (update()). */
  private readonly queues = new Map<string, Pending[]>();

  constructor(
    readonly buckets: OperationBuckets,
    readonly events: OperationEventLog,
    private readonly clock: () => number = Date.now,
    /** Called once when a write ends the operation (metrics). */
    private readonly onEnded: (op: OperationRecord) => void = () => undefined,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** The fencing token of this view's writes (0: not fenced; the admin API's writes). */
    readonly fence = 0,
    cache?: StepCache,
  ) {
    this.cache = cache ?? new StepCache(buckets.steps);
  }

  /** The same store (same cache) whose writes are fenced by a leader's term (top of the file). */
  fenced(term: number): OperationStore {
    return new OperationStore(this.buckets, this.events, this.clock, this.onEnded, this.retry, term, this.cache);
  }

  /** The header alone (no step is read); null when absent. A record stored before the split is refused. */
  async header(id: string, signal?: AbortSignal): Promise<Versioned<OperationHeader> | null> {
    const h = await this.buckets.headers.get(id, signal);
    if (h && isLegacyRecord(h.value))
      throw new FailedPreconditionError(
        `operation ${id} is stored in the layout of an older coordinator (every step inside one record); a coordinator of this version migrates such records when it starts`,
      );
    return h;
  }

  async get(id: string, signal?: AbortSignal): Promise<Versioned<OperationRecord> | null> {
    const cur = await this.current(id, signal);
    return cur ? { key: id, revision: cur.header.revision, value: this.assembleCurrent(cur) } : null;
  }

  async require(id: string, signal?: AbortSignal): Promise<Versioned<OperationRecord>> {
    const v = await this.get(id, signal);
    if (!v) throw new NotFoundError('operation', id);
    return v;
  }

  /** Every header (no steps): housekeeping and the rare whole-history questions. */
  async list(signal?: AbortSignal): Promise<OperationHeader[]> {
    return (await this.buckets.headers.list(signal)).map((v) => v.value).filter((h) => !isLegacyRecord(h));
  }

  /** Headers of the operations in the active index (not yet finished); index entries of ended or vanished ones are removed. */
  async listActive(signal?: AbortSignal, staleAfterMs = 300_000): Promise<OperationHeader[]> {
    const ids = await this.buckets.active.keys(signal);
    const out: OperationHeader[] = [];
    for (const id of ids) {
      const h = await this.header(id, signal);
      if (h && !isTerminal(h.value)) {
        out.push(h.value);
        continue;
      }
      // Ended (the write that ended it was not followed by the removal), or
      // never created (index entry written, record not): stale after a while.
      const entry = h ? null : await this.buckets.active.get(id, signal);
      if (h || (entry && this.clock() - entry.value.createdAtMs > staleAfterMs)) await this.deactivate(id, signal);
    }
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs);
  }

  /**
   * Up to `want` headers with keys before `after` ("" = from the newest),
   * newest first (ids sort by creation time), filtered; read in small
   * batches so a page stops reading once it is full.
   */
  async page(after: string, want: number, filter: { hostId?: string; activeOnly?: boolean }, signal?: AbortSignal): Promise<Versioned<OperationHeader>[]> {
    const keys = filter.activeOnly ? await this.buckets.active.keys(signal) : await this.buckets.headers.keys(signal);
    const order = keys.filter((k) => !after || k < after).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const out: Versioned<OperationHeader>[] = [];
    for (let i = 0; i < order.length && out.length < want;) {
      const batch = order.slice(i, i + Math.min(64, Math.max(8, want - out.length)));
      i += batch.length;
      for (const h of await Promise.all(batch.map((k) => this.buckets.headers.get(k, signal)))) {
        if (!h || isLegacyRecord(h.value) || out.length >= want) continue;
        if (filter.activeOnly && isTerminal(h.value)) continue;
        if (filter.hostId && h.value.hostId !== filter.hostId) continue;
        out.push(h);
      }
    }
    return out;
  }

  /** Ids of the operations in the active index (maybe including ones just ended). */
  activeIds(signal?: AbortSignal): Promise<string[]> {
    return this.buckets.active.keys(signal);
  }

  /** Steps first, then the active-index entry, then the header: a header that exists has its steps and, unless ended, its index entry. */
  async create(op: OperationRecord, message: string, signal?: AbortSignal): Promise<OperationRecord> {
    const now = this.clock();
    let next = 0;
    const worker = async () => {
      while (next < op.steps.length) {
        const i = next++;
        await this.buckets.steps.create(stepKey(op.id, i), { ...op.steps[i]!, updatedAtMs: now }, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, op.steps.length) }, worker));
    if (!isTerminal(op)) await this.buckets.active.upsert(op.id, () => ({ kind: op.kind, hostId: op.hostId, createdAtMs: op.createdAtMs }), signal);
    await this.buckets.headers.create(op.id, headerOf(op), signal);
    await this.emit(op, { type: 'state', message });
    return op;
  }

  /**
   * Applies a pure change with CAS; `describe` turns the stored result into
   * the events to publish (none when its change changed nothing). State
   * changes are recorded in the history with their time.
   *
   * Changes to one operation through this store are written one round at a
   * time, and the changes that arrive while a round is in flight are applied
   * together, in order of arrival, in the next (one header write for the
   * outcomes of several steps that end together): concurrent updates of one
   * record no longer race each other into CAS conflicts. Each caller's
   * promise settles only once its change is stored (or refused).
   */
  update(
    id: string,
    change: (op: OperationRecord) => OperationRecord | undefined,
    describe: (op: OperationRecord) => EventSpec[] = () => [],
    signal?: AbortSignal,
    /**
     * The indices of the only steps `change` may change (the header it may
     * change freely). Given, the change gets copies of those steps alone and
     * the others as stored, frozen (a write to one throws), and only those
     * are compared and written: one step's progress costs the same in an
     * operation of 500 steps as in one of 5. The record returned to the
     * caller holds the same frozen steps.
     */
    touches?: readonly number[],
  ): Promise<OperationRecord> {
    return new Promise((resolve, reject) => {
      const p: Pending = { change, describe, signal, resolve, reject, changed: false, touches };
      const queued = this.queues.get(id);
      if (queued) {
        queued.push(p);
        return;
      }
      this.queues.set(id, []);
      void this.writeQueue(id, [p]);
    });
  }

  /** Writes `batch`, then whatever arrived meanwhile, until nothing is left. */
  private async writeQueue(id: string, batch: Pending[]): Promise<void> {
    for (;;) {
      await this.writeBatch(id, batch);
      const next = this.queues.get(id)!;
      if (next.length === 0) {
        this.queues.delete(id);
        return;
      }
      this.queues.set(id, []);
      batch = next;
    }
  }

  /** One write of every change in the batch (CAS rounds until it lands); settles every caller, never throws. */
  private async writeBatch(id: string, batch: Pending[]): Promise<void> {
    for (let round = 0; ;) {
      batch = batch.filter((p) => !p.signal?.aborted || (p.reject(p.signal.reason), false));
      if (batch.length === 0) return;
      const signal = batch.every((p) => p.signal === batch[0]!.signal) ? batch[0]!.signal : undefined;
      let failed: Pending | null = null;
      const combined = (o: OperationRecord): OperationRecord | undefined => {
        let any = false;
        for (const p of batch) {
          try {
            const r = p.change(o);
            p.changed = r !== undefined;
            if (r !== undefined) [o, any] = [r, true];
          } catch (err) {
            failed = p;
            throw err;
          }
        }
        return any ? o : undefined;
      };
      // The batch names its steps only if every change in it does.
      const touches = batch.every((p) => p.touches) ? new Set(batch.flatMap((p) => p.touches!)) : undefined;
      try {
        const cur = await this.current(id, signal);
        if (!cur) throw new NotFoundError('operation', id);
        const res = await this.applyOnce(cur, combined, signal, touches);
        if (res.changed && res.ended) {
          this.onEnded(res.op);
          this.cache.forget(id);
          await this.deactivate(id, signal);
        }
        for (const p of batch) {
          try {
            if (res.changed && p.changed) for (const spec of p.describe(res.op)) await this.emit(res.op, spec);
            p.resolve(res.op);
          } catch (err) {
            p.reject(err);
          }
        }
        return;
      } catch (err) {
        const f = failed as Pending | null;
        if (f) {
          // That caller's change threw: it alone fails; the others are applied again without it.
          f.reject(err);
          batch = batch.filter((p) => p !== f);
          continue;
        }
        let reason = err;
        if (err instanceof CasConflictError && ++round < this.retry.conflictAttempts) {
          try {
            await conflictBackoff(round - 1, signal);
            continue;
          } catch (abort) {
            reason = abort;
          }
        }
        for (const p of batch) p.reject(reason);
        return;
      }
    }
  }

  /** Publishes an event about the operation as it stands. */
  async emit(op: OperationRecord, spec: EventSpec): Promise<number> {
    const body: OperationEventBody = {
      operationId: op.id,
      atMs: this.clock(),
      type: spec.type,
      state: op.state,
      stage: op.stage,
      message: spec.message,
      done: op.steps.filter((s) => ['done', 'failed', 'skipped', 'cancelled'].includes(s.phase)).length,
      total: op.steps.length,
      ...(spec.step ? { step: spec.step } : {}),
    };
    return this.events.publish(body);
  }

  /**
   * Removes the operation from the active index (absent: nothing to do).
   * Purged, not deleted: a delete marker would stay in the key listing the
   * engine reads every poll until housekeeping removes it an hour later.
   * Nobody writes an ended operation's entry again, so no write is lost.
   */
  async deactivate(id: string, signal?: AbortSignal): Promise<void> {
    await this.buckets.active.purgeKeys(id, signal);
  }

  /** Drops this instance's cached steps of the operation (its steps were deleted). */
  forget(id: string): void {
    this.cache.forget(id);
  }

  private async current(id: string, signal?: AbortSignal): Promise<Current | null> {
    // A cached operation's steps are brought up to date while the header is read (one round trip, not two).
    const [header] = await Promise.all([this.header(id, signal), this.cache.refresh(id, signal)]);
    if (!header) return null;
    // An archived operation's steps were purged: its summary stands alone.
    const steps = header.value.archivedAtMs ? [] : await this.cache.read(id, header.value.stepCount, signal);
    return { header, steps };
  }

  /** The record as read, for a change: private copies of its steps (of those in `touches` alone, when given; the others as cached, frozen). */
  private assembleCurrent(cur: Current, touches?: ReadonlySet<number>): OperationRecord {
    const at = cur.steps.reduce((m, e) => Math.max(m, e.atMs), 0);
    return assemble(
      structuredClone(cur.header.value),
      cur.steps.map((e, i) => (touches && !touches.has(i) ? e.step : cloneStep(e.step))),
      at,
    );
  }

  /** Indices of the steps `next` changed: among `touches` only, once every other step is checked to be the one read. */
  private changedSteps(cur: Current, next: OperationRecord, touches?: ReadonlySet<number>): number[] {
    if (!touches) return next.steps.flatMap((s, i) => (sameStep(s, cur.steps[i]!.step) ? [] : [i]));
    next.steps.forEach((s, i) => {
      if (!touches.has(i) && s !== cur.steps[i]!.step)
        throw new Error(`operation ${next.id}: a change naming steps ${[...touches].join(',')} replaced step ${i}`);
    });
    return [...touches].filter((i) => next.steps[i] && !sameStep(next.steps[i]!, cur.steps[i]!.step)).sort((a, b) => a - b);
  }

  /** One CAS round: the change applied to `cur`, the keys it changed written. */
  private async applyOnce(
    cur: Current,
    change: (op: OperationRecord) => OperationRecord | undefined,
    signal?: AbortSignal,
    touches?: ReadonlySet<number>,
  ): Promise<{ op: OperationRecord; changed: boolean; ended: boolean }> {
    const now = this.clock();
    const stored = cur.header.value.leaderTerm ?? 0;
    if (this.fence > 0 && stored > this.fence) throw new FencedWriteError(cur.header.value.id, this.fence, stored);
    // One copy of the record for the change; the record as read is assembled again only when nothing changed.
    const before = cur.header.value;
    const unchanged = () => ({ op: this.assembleCurrent(cur), changed: false, ended: false });
    const next = change(this.assembleCurrent(cur, touches));
    if (next === undefined) return unchanged();
    if (this.fence > 0) next.leaderTerm = Math.max(stored, this.fence);
    if (next.steps.length !== cur.steps.length) throw new Error(`operation ${before.id}: a change cannot add or remove steps`);
    if (next.state !== before.state || next.stage !== before.stage) {
      next.history = [...next.history, { state: next.state, stage: next.stage, atMs: now, reason: next.reason }];
      if (next.stage !== before.stage) next.stageSinceMs = now;
    }
    const ended = isTerminal(next) && !next.finishedAtMs;
    if (ended) next.finishedAtMs = now;
    const stepWrites = this.changedSteps(cur, next, touches);
    const header = headerOf({ ...next, updatedAtMs: cur.header.value.updatedAtMs }, cur.header.value.archivedAtMs);
    const headerChanged = !sameValue(header, cur.header.value);
    if (!headerChanged && stepWrites.length === 0) return unchanged();
    header.updatedAtMs = headerChanged ? now : header.updatedAtMs;
    const fenced = this.fence > 0;
    let headerRevision = cur.header.revision;
    const writeHeader = async () => {
      if (headerChanged || fenced) await this.buckets.headers.updateAt(next.id, header, headerRevision, signal);
    };
    const writeSteps = async () => {
      for (const i of stepWrites) {
        const value: StoredStep = { ...cloneStep(next.steps[i]!), updatedAtMs: now };
        try {
          const w = await this.buckets.steps.updateAt(stepKey(next.id, i), value, cur.steps[i]!.revision, signal);
          this.cache.wrote(next.id, i, value, w.revision);
        } catch (err) {
          // Someone else wrote this step: read the operation whole again.
          if (err instanceof CasConflictError) this.cache.forget(next.id);
          throw err;
        }
      }
    };
    const stops = headerChanged && next.state !== before.state && (next.state === 'paused' || isTerminal(next));
    if (stops) {
      // Fenced: the header as read (with this term) first, so the steps are written only while no newer leader has written.
      if (fenced)
        headerRevision = (await this.buckets.headers.updateAt(next.id, { ...cur.header.value, leaderTerm: next.leaderTerm }, headerRevision, signal)).revision;
      await writeSteps();
      await writeHeader();
    } else {
      await writeHeader();
      await writeSteps();
    }
    next.updatedAtMs = now;
    return { op: next, changed: true, ended };
  }
}

export function setState(op: OperationRecord, state: OperationState, reason: string, stage = op.stage): OperationRecord {
  op.state = state;
  op.reason = reason;
  op.stage = stage;
  return op;
}
