// The steps of recently read operations, kept per coordinator instance and
// brought up to date on every read with the bucket's changes since the last
// one (Repository.changeFrom over the operation's keys): reading an
// operation of 500 steps costs one request when none changed, instead of
// 500 gets. A stale entry cannot cause a lost update: every step write is
// CAS at the entry's revision, and a conflict drops the operation from the
// cache (OperationStore re-reads it whole).
import type { Repository } from '../store/repository.ts';
import { plainStep, stepKey, type StoredStep } from './op-layout.ts';
import type { StepRecord } from './types.ts';

export interface StepEntry {
  /** As read, frozen: handed out only to changes that name other steps (OperationStore.update). */
  step: StepRecord;
  /** When it was last written (0 if never since the split). */
  atMs: number;
  revision: number;
}

interface OpSteps {
  /** Every change of this operation's steps at or below this bucket revision is applied. */
  cursor: number;
  entries: Map<number, StepEntry>;
  /** refresh() just ran: the next read() needs no request. */
  fresh: boolean;
}

function entryOf(v: StoredStep, revision: number): StepEntry {
  // Frozen: an update naming its steps (OperationStore.update's touches) hands the others out as they are here.
  const step = plainStep(v);
  Object.freeze(step.triedTargets);
  return { step: Object.freeze(step), atMs: v.updatedAtMs ?? 0, revision };
}

export class StepCache {
  private readonly ops = new Map<string, OpSteps>();

  constructor(
    private readonly repo: Repository<StoredStep>,
    /** Operations kept at most (least recently read go first). */
    private readonly maxOps = 64,
  ) {}

  /** Brings a cached operation up to date (nothing for one not cached): read() right after needs no request. */
  async refresh(opId: string, signal?: AbortSignal): Promise<void> {
    const c = this.ops.get(opId);
    if (c) {
      await this.catchUp(opId, c, signal);
      c.fresh = true;
    }
  }

  /** Steps 0 … count-1 of the operation, current as of this call (or of the refresh() just before). */
  async read(opId: string, count: number, signal?: AbortSignal): Promise<StepEntry[]> {
    let c = this.ops.get(opId);
    if (c && !c.fresh) await this.catchUp(opId, c, signal);
    else if (!c) c = await this.load(opId, count, signal);
    c.fresh = false;
    // Most recently read last: Map keeps insertion order.
    this.ops.delete(opId);
    this.ops.set(opId, c);
    while (this.ops.size > this.maxOps) this.ops.delete(this.ops.keys().next().value!);
    const out: StepEntry[] = [];
    for (let i = 0; i < count; i++) {
      const e = c.entries.get(i);
      if (!e) {
        this.ops.delete(opId);
        throw new Error(`operation ${opId}: step ${i} of ${count} is missing from the store`);
      }
      out.push(e);
    }
    return out;
  }

  /** A write of ours landed at `revision` (`value` is no longer the caller's to change). */
  wrote(opId: string, i: number, value: StoredStep, revision: number): void {
    const c = this.ops.get(opId);
    if (!c) return;
    c.entries.set(i, entryOf(value, revision));
    // Nothing else can have been written between the cursor and this revision.
    if (revision === c.cursor + 1) c.cursor = revision;
  }

  forget(opId: string): void {
    this.ops.delete(opId);
  }

  private async load(opId: string, count: number, signal?: AbortSignal): Promise<OpSteps> {
    // The revision first: a write after it is caught up on the next read (at worst read twice).
    const cursor = await this.repo.lastRevision(signal);
    const entries = new Map<number, StepEntry>();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const v = await this.repo.get(stepKey(opId, i), signal);
        if (v) entries.set(i, entryOf(v.value, v.revision));
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, count) }, worker));
    return { cursor, entries, fresh: false };
  }

  private async catchUp(opId: string, c: OpSteps, signal?: AbortSignal): Promise<void> {
    const prefix = `${opId}.`;
    for (;;) {
      const ch = await this.repo.changeFrom(c.cursor + 1, signal, `${opId}.>`);
      if (!ch) return;
      const i = Number(ch.key.slice(prefix.length));
      if (ch.key.startsWith(prefix) && Number.isInteger(i)) {
        const cur = c.entries.get(i);
        if (!ch.value) c.entries.delete(i);
        else if (!cur || cur.revision < ch.revision) c.entries.set(i, entryOf(ch.value, ch.revision));
      }
      c.cursor = ch.revision;
    }
  }
}
