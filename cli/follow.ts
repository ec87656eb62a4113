// Follows an operation until it ends: its WatchOperation stream folded into
// an OperationViewState, drawn as cli-progress bars on a terminal (one per
// server and one overall) or printed as one line per event otherwise (NDJSON
// with --json). Ctrl-C detaches — the operation goes on in the coordinator —
// and says how to re-attach or cancel.
import * as grpc from '@grpc/grpc-js';
import cliProgress from 'cli-progress';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdminApi } from './client.ts';
import type { Operation } from '../common/generated/drydock/admin/v1/Operation.ts';
import type { OperationEvent } from '../common/generated/drydock/admin/v1/OperationEvent.ts';
import type { ServerStep } from '../common/generated/drydock/admin/v1/ServerStep.ts';
import {
  actionLabel,
  applyEvent,
  eventLine,
  isTerminal,
  kindLabel,
  overallEtaSeconds,
  phaseLabel,
  progressCounts,
  stateLabel,
  stepBytes,
  stepFinished,
  stepName,
  stepPercent,
  viewFromOperation,
  type OperationViewState,
} from './operation-view.ts';
import { formatDuration, textWidth } from './table.ts';
import { EXIT, type ExitCode } from './exit.ts';
import { session } from './session.ts';

export type FollowMode = 'bars' | 'lines' | 'json';

export interface FollowOptions {
  api: AdminApi;
  operationId: string;
  mode: FollowMode;
  out: NodeJS.WriteStream;
  err: NodeJS.WritableStream;
  /** Aborted on Ctrl-C (the caller owns the signal handler). */
  signal: AbortSignal;
}

/** Renders the view as it changes. */
interface Renderer {
  event(view: OperationViewState, ev: OperationEvent): void;
  /** Ends the rendering (restores the cursor on a terminal). */
  stop(): void;
}

class LinesRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream) {}
  event(view: OperationViewState, ev: OperationEvent): void {
    this.out.write(`${eventLine(view, ev)}\n`);
  }
  stop(): void {}
}

class JsonRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream) {}
  event(_view: OperationViewState, ev: OperationEvent): void {
    this.out.write(`${JSON.stringify(ev)}\n`);
  }
  stop(): void {}
}

function fit(s: string, width: number): string {
  const w = textWidth(s);
  if (w > width) return `${[...s].slice(0, Math.max(1, width - 1)).join('')}…`;
  return s + ' '.repeat(width - w);
}

/**
 * One bar per server plus an overall bar, redrawn in place by cli-progress.
 * A terminal only redraws what fits on it: with more servers than rows,
 * only started servers get a bar, and finished ones give their bar up (as
 * one line printed above the bars) when room is needed.
 */
class BarsRenderer implements Renderer {
  readonly #multi: cliProgress.MultiBar;
  readonly #overall: cliProgress.SingleBar;
  readonly #bars = new Map<string, cliProgress.SingleBar>();
  readonly #maxBars: number;
  #nameWidth = 8;
  #targetWidth = 8;
  #timer: NodeJS.Timeout;
  #view: OperationViewState;

  constructor(out: NodeJS.WriteStream, view: OperationViewState) {
    this.#view = view;
    // Rows for the overall bar, a logged line or two, and the prompt.
    this.#maxBars = Math.max(3, (out.rows || 24) - 5);
    for (const step of view.steps.values()) {
      this.#nameWidth = Math.max(this.#nameWidth, Math.min(24, textWidth(stepName(step))));
      this.#targetWidth = Math.max(this.#targetWidth, Math.min(20, textWidth(step.target_host_id) + 3));
    }
    // What is left of the line after the name, action, target, percent and
    // the detail (phase, bytes, eta ~ 36) goes to the bar: 8 to 30 wide.
    const columns = out.columns || 80;
    const barsize = Math.max(8, Math.min(30, columns - (this.#nameWidth + 1 + 4 + 1 + this.#targetWidth + 4 + 5 + 36)));
    this.#multi = new cliProgress.MultiBar(
      {
        stream: out,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        barsize,
        fps: 8,
        autopadding: true,
        barCompleteChar: '█',
        barIncompleteChar: '░',
        format: ' {name} |{bar}| {pct} {detail}',
        // The overall line redraws even when no value changed (state, ETA).
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#overall = this.#multi.create(Math.max(1, view.total), 0, this.#overallPayload(view));
    for (const step of view.steps.values()) this.#step(step);
    this.#render(view);
    // ETAs count down between events too.
    this.#timer = setInterval(() => this.#render(this.#view), 1000);
    this.#timer.unref();
  }

  #overallPayload(view: OperationViewState): Record<string, string> {
    const { done, total } = progressCounts(view);
    const eta = overallEtaSeconds(view, Date.now());
    const state = stateLabel(view.state);
    // A disable (reboot, wait, settle) has stages, not servers.
    const servers = total > 0 || view.steps.size > 0;
    const detail = [
      servers ? `${done}/${total} servers` : '',
      servers ? (eta === undefined ? 'eta ?' : `eta ${formatDuration(eta)}`) : '',
      state,
      view.stage ? `stage ${view.stage}` : '',
      view.reason && view.state !== 'OPERATION_STATE_RUNNING' ? view.reason : '',
    ]
      .filter(Boolean)
      .join('  ');
    const pct = total ? `${Math.round((100 * done) / total)}%` : isTerminal(view) ? '100%' : '-';
    return { name: fit('overall', this.#nameWidth + 1 + 4 + 1 + this.#targetWidth), pct: fit(pct, 4), detail };
  }

  #stepPayload(step: ServerStep): Record<string, string> {
    const target = step.target_host_id ? `-> ${step.target_host_id}` : '';
    const head = `${fit(stepName(step), this.#nameWidth)} ${fit(shortAction(step), 4)} ${fit(target, this.#targetWidth)}`;
    const detail = [
      phaseLabel(step),
      stepBytes(step),
      step.eta_seconds > 0 && !stepFinished(step) ? `eta ${formatDuration(step.eta_seconds)}` : '',
      step.error ? `error: ${step.error}` : '',
    ]
      .filter(Boolean)
      .join('  ');
    return { name: head, pct: fit(`${Math.round(stepPercent(step))}%`, 4), detail };
  }

  #step(step: ServerStep): void {
    const bar = this.#bars.get(step.server_uuid);
    if (bar) {
      bar.update(stepPercent(step), this.#stepPayload(step));
      return;
    }
    const crowded = this.#view.steps.size > this.#maxBars;
    // Crowded: the queue is the overall bar's "done/total"; bars are for servers that started.
    if (crowded && step.phase === 'STEP_PHASE_PENDING') return;
    if (this.#bars.size >= this.#maxBars) this.#retireFinished();
    if (stepFinished(step) && crowded) {
      this.#multi.log(`${eventClock()} ${stepName(step)} ${actionLabel(step)}${step.target_host_id ? ` -> ${step.target_host_id}` : ''} ${phaseLabel(step)}\n`);
      return;
    }
    this.#bars.set(step.server_uuid, this.#multi.create(100, stepPercent(step), this.#stepPayload(step)));
  }

  /** Frees rows: finished servers' bars become a printed line. */
  #retireFinished(): void {
    for (const [uuid, bar] of this.#bars) {
      const step = this.#view.steps.get(uuid);
      if (!step || !stepFinished(step)) continue;
      this.#multi.remove(bar);
      this.#bars.delete(uuid);
      this.#multi.log(
        `${eventClock()} ${stepName(step)} ${actionLabel(step)}${step.target_host_id ? ` -> ${step.target_host_id}` : ''} ${phaseLabel(step)}${step.error ? `: ${step.error}` : ''}\n`,
      );
      if (this.#bars.size < this.#maxBars) return;
    }
  }

  #render(view: OperationViewState): void {
    const { done, total } = progressCounts(view);
    this.#overall.setTotal(Math.max(1, total));
    this.#overall.update(total === 0 && isTerminal(view) ? 1 : done, this.#overallPayload(view));
  }

  event(view: OperationViewState, ev: OperationEvent): void {
    this.#view = view;
    const step = ev.step?.server_uuid ? view.steps.get(ev.step.server_uuid) : undefined;
    if (step) this.#step(step);
    if (ev.type === 'message' && ev.message) this.#multi.log(`${eventClock(ev.at_ms)} ${ev.message}\n`);
    if (ev.type === 'state' && ev.state === 'OPERATION_STATE_PAUSED') {
      // Paused waits for the operator: say so above the bars, not only in the overall line.
      this.#multi.log(`${eventClock(ev.at_ms)} paused${view.reason ? `: ${view.reason}` : ''} — it waits for you; to stop it: drydock ops cancel ${view.id}\n`);
    }
    this.#render(view);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#render(this.#view);
    // MultiBar.stop() drops lines still waiting in its log buffer: flush them.
    this.#multi.update();
    this.#multi.stop();
  }
}

/** Bars are narrow: live, cold, stop, none (the planner's words). */
function shortAction(step: ServerStep): string {
  const a = actionLabel(step);
  return a === 'live-migrate' ? 'live' : a === 'cold-migrate' ? 'cold' : a;
}

function eventClock(atMs?: number): string {
  return new Date(atMs || Date.now()).toISOString().slice(11, 19);
}

export interface FollowResult {
  exitCode: ExitCode;
  view: OperationViewState;
}

/** How often a dropped stream is re-opened before giving up. */
const MAX_RECONNECTS = 5;

/**
 * Follows `operationId` to its end. Resolves with the exit code: 0 when it
 * succeeded, 7 when it failed or was cancelled, 130 when the operator
 * detached. A stream that drops (coordinator restart, leader change) is
 * re-opened from the last seen event.
 */
export async function followOperation(opts: FollowOptions): Promise<FollowResult> {
  const { api, operationId, out, err, signal } = opts;
  const first: Operation = await api.call('GetOperation', { operation_id: operationId });
  const view = viewFromOperation(first);
  if (opts.mode === 'bars') {
    out.write(`operation ${view.id}: ${kindLabel(view.kind)} of ${view.hostId} (Ctrl-C detaches; it goes on)\n`);
  }
  const renderer: Renderer = opts.mode === 'bars' ? new BarsRenderer(out, view) : opts.mode === 'json' ? new JsonRenderer(out) : new LinesRenderer(out);
  if (opts.mode === 'lines') {
    out.write(`following ${kindLabel(view.kind)} of ${view.hostId}: operation ${view.id}, ${stateLabel(view.state)}\n`);
  }

  let detached = false;
  session.following = true;
  try {
    let reconnects = 0;
    // Watched at least once: a finished operation replays its events and ends.
    let watched = false;
    while ((!watched || !isTerminal(view)) && !signal.aborted) {
      watched = true;
      const fromSeq = view.lastSeq + 1;
      const stream = api.watch({ operation_id: operationId, from_seq: fromSeq });
      const onAbort = () => stream.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await new Promise<void>((resolve, reject) => {
          stream.on('data', (ev: OperationEvent) => {
            reconnects = 0;
            applyEvent(view, ev);
            renderer.event(view, ev);
          });
          stream.on('end', resolve);
          stream.on('error', (e: grpc.ServiceError) => {
            if (e.code === grpc.status.CANCELLED && signal.aborted) resolve();
            else reject(e);
          });
        });
      } catch (e) {
        const code = (e as grpc.ServiceError).code;
        // Only transient failures are retried; NOT_FOUND, auth etc. are answers.
        if ((code !== grpc.status.UNAVAILABLE && code !== grpc.status.INTERNAL) || reconnects >= MAX_RECONNECTS) throw e;
        reconnects++;
        await sleep(500 * reconnects, undefined, { signal }).catch(() => undefined);
        continue;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      if (signal.aborted) break;
      if (!isTerminal(view)) {
        // The stream ended before the terminal event: trust the record.
        const now = await api.call('GetOperation', { operation_id: operationId });
        if (TERMINAL(now)) {
          view.state = now.state;
          view.reason = now.reason;
          view.done = now.done;
          view.total = now.total;
          break;
        }
        if (++reconnects > MAX_RECONNECTS) throw new Error(`the event stream of ${operationId} keeps ending before the operation does`);
        await sleep(500, undefined, { signal }).catch(() => undefined);
      }
    }
    detached = signal.aborted && !isTerminal(view);
  } finally {
    session.following = false;
    renderer.stop();
  }

  if (detached) {
    err.write(
      `\ndrydock: detached from operation ${operationId}; it continues in the coordinator — re-attach: drydock ops watch ${operationId}  cancel: drydock ops cancel ${operationId}\n`,
    );
    return { exitCode: EXIT.INTERRUPTED, view };
  }
  if (opts.mode !== 'json') out.write(`${summaryLine(view)}\n`);
  return { exitCode: view.state === 'OPERATION_STATE_SUCCEEDED' ? EXIT.OK : EXIT.OPERATION_FAILED, view };
}

function TERMINAL(op: Operation): boolean {
  return op.state === 'OPERATION_STATE_SUCCEEDED' || op.state === 'OPERATION_STATE_FAILED' || op.state === 'OPERATION_STATE_CANCELLED';
}

export function summaryLine(view: OperationViewState): string {
  const { done, total } = progressCounts(view);
  const steps = [...view.steps.values()];
  const failed = steps.filter((s) => s.phase === 'STEP_PHASE_FAILED').length;
  const parts = [`operation ${view.id} ${stateLabel(view.state)}: ${kindLabel(view.kind)} of ${view.hostId}`];
  if (total) parts.push(`${done}/${total} servers done${failed ? `, ${failed} failed` : ''}`);
  if (view.reason) parts.push(view.reason);
  return parts.join(', ');
}
