// How an operation is laid out in KV: a small header (state, counts,
// history; bucket drydock_operations, key = the operation id) and one entry
// per step (bucket drydock_operation_steps, key "<op id>.<index>"), so one
// step's progress rewrites that step only, not every step of the operation.
// An active index (bucket drydock_operations_active, key = op id) holds the
// operations not yet finished: the engine reads it instead of every record.
import { isTerminal, TERMINAL_STEP_PHASES, type MovedServerRecord, type OperationRecord, type StepRecord } from './types.ts';

/** Stored layout version of a header; records without it (every step inside one record) are migrated at start. */
export const OPERATION_FORMAT = 2;

/**
 * Everything of an operation but its steps, plus what a list needs to know
 * about them. A drain's movedAway is derived from its steps (movedAwayOf):
 * its header holds it only once the drain stops (paused or ended, so a
 * summary without steps still has it); while it runs the list stays empty,
 * or every step's outcome would rewrite a header growing with the drain.
 * Headers written before kept it up to date while running: the list
 * derived from the steps is the same one.
 */
export interface OperationHeader extends Omit<OperationRecord, 'steps'> {
  format: typeof OPERATION_FORMAT;
  /** Number of steps (their keys are 0 … stepCount-1). */
  stepCount: number;
  /** Steps in a terminal phase. */
  doneCount: number;
  /**
   * Transfer rates (bytes/s) of this operation's completed moves, newest
   * last, at most MAX_BANDWIDTH_SAMPLES: plans estimate from these without
   * reading every step of every operation.
   */
  bandwidthSamples: number[];
  /** When retention archived it (its steps deleted, this summary and its events kept); 0 = not archived. */
  archivedAtMs: number;
}

/** A step as stored: the record plus the time of its last write. */
export type StoredStep = StepRecord & { updatedAtMs?: number };

/** An entry of the active index. */
export interface ActiveEntry {
  kind: OperationRecord['kind'];
  hostId: string;
  createdAtMs: number;
}

export const MAX_BANDWIDTH_SAMPLES = 32;

export function stepKey(opId: string, i: number): string {
  // Zero-padded so keys sort in step order.
  return `${opId}.${String(i).padStart(5, '0')}`;
}

/** Rate of a completed move (bytes/s), or undefined. */
export function bandwidthOf(s: StepRecord): number | undefined {
  if (s.phase !== 'done' || (s.action !== 'live' && s.action !== 'cold') || s.bytesTotal <= 0 || s.finishedAtMs <= s.startedAtMs) return undefined;
  return s.bytesTotal / ((s.finishedAtMs - s.startedAtMs) / 1000);
}

/** The header of a whole record: counts derived from its steps. */
export function headerOf(op: OperationRecord, archivedAtMs = 0): OperationHeader {
  const { steps, ...rest } = op;
  if (op.kind === 'enable_maintenance') rest.movedAway = op.state === 'paused' || isTerminal(op) ? movedAwayOf(steps) : [];
  const samples = steps
    .filter((s) => bandwidthOf(s) !== undefined)
    .sort((a, b) => a.finishedAtMs - b.finishedAtMs)
    .map((s) => bandwidthOf(s)!)
    .slice(-MAX_BANDWIDTH_SAMPLES);
  return {
    ...rest,
    format: OPERATION_FORMAT,
    stepCount: steps.length,
    doneCount: steps.filter((s) => TERMINAL_STEP_PHASES.has(s.phase)).length,
    bandwidthSamples: samples,
    archivedAtMs,
  };
}

/** The whole record again: the header's fields and its steps. */
export function assemble(h: OperationHeader, steps: StepRecord[], stepsUpdatedAtMs = 0): OperationRecord {
  const { format: _f, stepCount: _c, doneCount: _d, bandwidthSamples: _b, archivedAtMs: _a, ...rest } = h;
  // An archived drain's steps are gone: its header's list (written when it ended) stands alone.
  const movedAway = h.kind === 'enable_maintenance' && !h.archivedAtMs ? movedAwayOf(steps) : h.movedAway;
  return { ...rest, movedAway, updatedAtMs: Math.max(h.updatedAtMs, stepsUpdatedAtMs), steps };
}

/** The servers a drain moved away: its steps that ended in a move (not a stop), in the order they ended. */
export function movedAwayOf(steps: readonly StepRecord[]): MovedServerRecord[] {
  return steps
    .filter((s) => s.phase === 'done' && (s.action === 'live' || s.action === 'cold'))
    .sort((a, b) => a.finishedAtMs - b.finishedAtMs)
    .map((s) => ({ serverUuid: s.serverUuid, serverName: s.serverName, toHostId: s.targetHostId, wasRunning: s.wasRunning }));
}

/** A step as the record holds it (without the stored write time). */
export function plainStep(s: StoredStep): StepRecord {
  const { updatedAtMs: _u, ...step } = s;
  return step;
}

/** A stored value from before the split: one record with every step inside. */
export function isLegacyRecord(v: unknown): v is OperationRecord {
  return typeof v === 'object' && v !== null && Array.isArray((v as { steps?: unknown }).steps) && (v as { format?: unknown }).format === undefined;
}

/** A private copy of a step (its only nested value is the list of tried targets): far cheaper than structuredClone per step. */
export function cloneStep(s: StepRecord): StepRecord {
  return { ...s, triedTargets: [...s.triedTargets] };
}

/** Whether two steps hold the same values (flat fields, arrays element by element). */
export function sameStep(a: StepRecord, b: StepRecord): boolean {
  const ka = Object.keys(a) as (keyof StepRecord)[];
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const x = a[k];
    const y = b[k];
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length || x.some((v, i) => v !== y[i])) return false;
    } else if (x !== y) return false;
  }
  return true;
}
