// What the CLI knows about a followed operation, folded from its snapshot
// and its event stream. Pure: the renderers (bars on a terminal, lines
// otherwise) read it; tests feed it events and plain numbers.
import type { Operation } from '../common/generated/drydock/admin/v1/Operation.ts';
import type { OperationEvent } from '../common/generated/drydock/admin/v1/OperationEvent.ts';
import type { ServerStep } from '../common/generated/drydock/admin/v1/ServerStep.ts';
import type { OperationState } from '../common/generated/drydock/admin/v1/OperationState.ts';
import { clampPercent } from '../common/progress-percent.ts';
import { enumLabel, formatBytes, formatDuration, formatPercent, formatRate } from './table.ts';

export const TERMINAL_STATES: ReadonlySet<OperationState> = new Set(['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_CANCELLED']);

const FINISHED_PHASES = new Set(['STEP_PHASE_DONE', 'STEP_PHASE_FAILED', 'STEP_PHASE_SKIPPED', 'STEP_PHASE_CANCELLED']);
const ACTIVE_PHASES = new Set(['STEP_PHASE_MIGRATING', 'STEP_PHASE_STOPPING']);

export interface OperationViewState {
  id: string;
  kind: string;
  hostId: string;
  state: OperationState;
  reason: string;
  stage: string;
  done: number;
  total: number;
  /** Steps by server uuid, in the order first seen. */
  steps: Map<string, ServerStep>;
  lastSeq: number;
  startedAtMs: number;
}

export function viewFromOperation(op: Operation): OperationViewState {
  return {
    id: op.id,
    kind: op.kind,
    hostId: op.host_id,
    state: op.state,
    reason: op.reason,
    stage: op.stage,
    done: op.done,
    total: op.total,
    steps: new Map(op.steps.map((s) => [s.server_uuid, { ...s }])),
    lastSeq: -1,
    startedAtMs: op.created_at_ms,
  };
}

/**
 * Folds one event in. Step events carry the whole step; progress events may
 * carry only the moving numbers, so they are merged onto what is known.
 * Replayed events (seq already seen) change nothing.
 */
export function applyEvent(view: OperationViewState, ev: OperationEvent): OperationViewState {
  if (ev.seq <= view.lastSeq) return view;
  view.lastSeq = ev.seq;
  if (ev.state && ev.state !== 'OPERATION_STATE_UNSPECIFIED') view.state = ev.state;
  if (ev.type === 'state' && ev.message) view.reason = ev.message;
  if (ev.stage) view.stage = ev.stage;
  if (ev.total) {
    view.total = ev.total;
    view.done = ev.done;
  }
  const step = ev.step;
  if (step && step.server_uuid) {
    const known = view.steps.get(step.server_uuid);
    if (!known || ev.type === 'step') {
      view.steps.set(step.server_uuid, { ...(known ?? {}), ...step } as ServerStep);
    } else {
      // Progress: keep names/targets if the event left them empty.
      const merged: ServerStep = { ...known };
      for (const [k, v] of Object.entries(step) as Array<[keyof ServerStep, ServerStep[keyof ServerStep]]>) {
        if (v === '' || v === 'STEP_PHASE_UNSPECIFIED' || v === 'SERVER_ACTION_UNSPECIFIED') continue;
        if (Array.isArray(v) && v.length === 0) continue;
        (merged as unknown as Record<string, unknown>)[k] = v;
      }
      view.steps.set(step.server_uuid, merged);
    }
  }
  return view;
}

export function isTerminal(view: OperationViewState): boolean {
  return TERMINAL_STATES.has(view.state);
}

export function stepFinished(step: ServerStep): boolean {
  return FINISHED_PHASES.has(step.phase);
}

/** 0..100 for a bar: finished steps are full, pending empty. */
export function stepPercent(step: ServerStep): number {
  if (stepFinished(step)) return 100;
  if (step.percent > 0) return clampPercent(step.percent);
  if (step.bytes_total > 0) return Math.min(100, (100 * step.bytes_processed) / step.bytes_total);
  return 0;
}

/** The done/total pair, from the operation when it says, else counted from the steps. */
export function progressCounts(view: OperationViewState): { done: number; total: number } {
  if (view.total > 0) return { done: view.done, total: view.total };
  const steps = [...view.steps.values()];
  return { done: steps.filter(stepFinished).length, total: steps.length };
}

/**
 * Seconds until the operation finishes, or undefined when nothing supports a
 * guess yet. Active steps count their own ETA (the longest, since they run
 * in parallel); pending steps cost what finished steps took on average (or
 * what the active ones are expected to take in total), divided by how many
 * run at once.
 */
export function overallEtaSeconds(view: OperationViewState, nowMs: number): number | undefined {
  if (isTerminal(view)) return 0;
  const steps = [...view.steps.values()];
  const active = steps.filter((s) => ACTIVE_PHASES.has(s.phase));
  const pending = steps.filter((s) => !stepFinished(s) && !ACTIVE_PHASES.has(s.phase));
  const finished = steps.filter((s) => s.phase === 'STEP_PHASE_DONE' && s.finished_at_ms > s.started_at_ms && s.started_at_ms > 0);

  let perStep: number | undefined;
  if (finished.length > 0) {
    perStep = finished.reduce((sum, s) => sum + (s.finished_at_ms - s.started_at_ms) / 1000, 0) / finished.length;
  } else {
    const guesses = active.filter((s) => s.started_at_ms > 0 && s.eta_seconds > 0).map((s) => Math.max(0, (nowMs - s.started_at_ms) / 1000) + s.eta_seconds);
    if (guesses.length > 0) perStep = guesses.reduce((a, b) => a + b, 0) / guesses.length;
  }
  const activeEta = active.length > 0 ? Math.max(...active.map((s) => s.eta_seconds || 0)) : 0;
  if (pending.length === 0) return active.length > 0 && active.some((s) => s.eta_seconds > 0) ? activeEta : active.length === 0 ? 0 : undefined;
  if (perStep === undefined) return undefined;
  const parallel = Math.max(1, active.length);
  return activeEta + (pending.length * perStep) / parallel;
}

export function actionLabel(step: ServerStep): string {
  return enumLabel(step.action, 'SERVER_ACTION_');
}

export function phaseLabel(step: ServerStep): string {
  return enumLabel(step.phase, 'STEP_PHASE_');
}

export function stateLabel(state: string): string {
  return enumLabel(state, 'OPERATION_STATE_');
}

export function kindLabel(kind: string): string {
  return enumLabel(kind, 'OPERATION_KIND_');
}

/** "1.2 GiB/2 GiB" for a step, "" when the agent reported no byte counts. */
export function stepBytes(step: ServerStep): string {
  if (step.bytes_total > 0) return `${formatBytes(step.bytes_processed)}/${formatBytes(step.bytes_total)}`;
  if (step.bytes_processed > 0) return formatBytes(step.bytes_processed);
  return '';
}

/** Server label: its name, or the start of its uuid. */
export function stepName(step: ServerStep): string {
  return step.server_name || step.server_uuid.slice(0, 8);
}

function clock(ms: number): string {
  return new Date(ms || Date.now()).toISOString().slice(11, 19);
}

/**
 * The line printed for one event when stdout is not a terminal (logs, CI,
 * `| tee`). Stable words first so grep works: time, event type, subject.
 */
export function eventLine(view: OperationViewState, ev: OperationEvent): string {
  const at = clock(ev.at_ms);
  const step = ev.step?.server_uuid ? (view.steps.get(ev.step.server_uuid) ?? ev.step) : undefined;
  switch (ev.type) {
    case 'state': {
      const { done, total } = progressCounts(view);
      const extra = [ev.stage || view.stage ? `stage ${ev.stage || view.stage}` : '', total ? `${done}/${total} done` : '', ev.message]
        .filter(Boolean)
        .join(', ');
      return `${at} state ${stateLabel(ev.state || view.state)}${extra ? ` (${extra})` : ''}`;
    }
    case 'step':
    case 'progress': {
      if (!step) return `${at} ${ev.type} ${ev.message}`.trimEnd();
      const route = step.target_host_id ? `${step.source_host_id || view.hostId} -> ${step.target_host_id}` : step.source_host_id || view.hostId;
      const parts = [`${at} ${ev.type} ${stepName(step)}`, actionLabel(step), route, phaseLabel(step), formatPercent(stepPercent(step))];
      const bytes = stepBytes(step);
      if (bytes) parts.push(bytes);
      if (step.bandwidth_bps > 0 && !stepFinished(step)) parts.push(formatRate(step.bandwidth_bps));
      if (step.eta_seconds > 0 && !stepFinished(step)) parts.push(`eta ${formatDuration(step.eta_seconds)}`);
      if (step.attempt > 1) parts.push(`attempt ${step.attempt}`);
      if (step.error) parts.push(`error: ${step.error}`);
      else if (ev.message) parts.push(ev.message);
      return parts.join(' ');
    }
    default:
      return `${at} ${ev.type || 'message'} ${ev.message}`.trimEnd();
  }
}
