// Operation records plus their event log, written together: a change to a
// record (CAS, via Repository.mutate) is followed by the events describing
// it. Events are published after the write succeeds, so an event never
// describes a state that was not stored.
import type { Repository, Versioned } from '../store/repository.ts';
import { countDone, type OperationRecord, type OperationState, type StepRecord } from './types.ts';
import type { OperationEventBody, OperationEventLog, OperationEventType } from './events.ts';

export interface EventSpec {
  type: OperationEventType;
  message: string;
  step?: StepRecord;
}

export class OperationStore {
  constructor(
    readonly repo: Repository<OperationRecord>,
    readonly events: OperationEventLog,
    private readonly clock: () => number = Date.now,
    /** Called once when a write ends the operation (metrics). */
    private readonly onEnded: (op: OperationRecord) => void = () => undefined,
  ) {}

  get(id: string, signal?: AbortSignal): Promise<Versioned<OperationRecord> | null> {
    return this.repo.get(id, signal);
  }

  require(id: string, signal?: AbortSignal): Promise<Versioned<OperationRecord>> {
    return this.repo.require(id, signal);
  }

  async list(signal?: AbortSignal): Promise<OperationRecord[]> {
    return (await this.repo.list(signal)).map((v) => v.value);
  }

  async create(op: OperationRecord, message: string, signal?: AbortSignal): Promise<OperationRecord> {
    await this.repo.create(op.id, op, signal);
    await this.emit(op, { type: 'state', message });
    return op;
  }

  /**
   * Applies a pure change with CAS; `describe` turns the stored result into
   * the events to publish (none when nothing changed). State changes are
   * recorded in the history with their time.
   */
  async update(
    id: string,
    change: (op: OperationRecord) => OperationRecord | undefined,
    describe: (op: OperationRecord) => EventSpec[] = () => [],
    signal?: AbortSignal,
  ): Promise<OperationRecord> {
    const now = this.clock();
    let ended = false;
    const res = await this.repo.mutate(
      id,
      (cur) => {
        ended = false;
        const before = { state: cur.state, stage: cur.stage };
        const next = change(cur);
        if (next === undefined) return undefined;
        next.updatedAtMs = now;
        if (next.state !== before.state || next.stage !== before.stage) {
          next.history = [...next.history, { state: next.state, stage: next.stage, atMs: now, reason: next.reason }];
          if (next.stage !== before.stage) next.stageSinceMs = now;
        }
        if (['succeeded', 'failed', 'cancelled'].includes(next.state) && !next.finishedAtMs) {
          next.finishedAtMs = now;
          ended = true;
        }
        return next;
      },
      signal,
    );
    if (res.changed && ended) this.onEnded(res.value);
    if (res.changed) for (const spec of describe(res.value)) await this.emit(res.value, spec);
    return res.value;
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
      done: countDone(op),
      total: op.steps.length,
      ...(spec.step ? { step: spec.step } : {}),
    };
    return this.events.publish(body);
  }
}

export function setState(op: OperationRecord, state: OperationState, reason: string, stage = op.stage): OperationRecord {
  op.state = state;
  op.reason = reason;
  op.stage = stage;
  return op;
}
