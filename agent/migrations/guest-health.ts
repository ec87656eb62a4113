// After a move of a running guest: did it arrive alive? The target's
// libvirt is watched for a short window (Hypervisor.watchGuestOn: the
// domain's events, then its state and reason) and judged here, so a guest
// whose kernel crashed or rebooted right after the switch-over is reported
// as such on the migration record (guest_health) instead of as moved alive
// (issue 12, defect 7; docs/field-notes.md, "guest crash after an aborted
// migration"). The move itself stands either way: the server is on the
// target, and a failed watch is UNKNOWN, never a failed migration.
import type { Logger } from '../../common/logging.ts';
import { errorMessage } from '../../common/errors.ts';
import type { GuestHealth } from '../../common/generated/drydock/agent/v1/GuestHealth.ts';
import type { Migration } from '../../common/generated/drydock/agent/v1/Migration.ts';
import type { GuestWatch, Hypervisor } from '../hypervisor/hypervisor.ts';
import type { FlowContext, Running } from './flow.ts';

export interface GuestVerdict {
  health: GuestHealth;
  /** What was seen ("" when alive). */
  detail: string;
}

const STATE_WORD: Record<string, string> = {
  SERVER_STATE_RUNNING: 'running',
  SERVER_STATE_BLOCKED: 'blocked',
  SERVER_STATE_PAUSED: 'paused',
  SERVER_STATE_SHUTDOWN: 'in shutdown',
  SERVER_STATE_SHUTOFF: 'shut off',
  SERVER_STATE_CRASHED: 'crashed',
  SERVER_STATE_SUSPENDED: 'pmsuspended',
};

function stateText(w: GuestWatch): string {
  const word = w.state ? (STATE_WORD[w.state] ?? w.state) : 'undefined';
  return w.reason ? `${word} (${w.reason})` : word;
}

/**
 * Pure: the verdict on a watch. `mode`: a live move arrives "running
 * (migrated)", a cold one "running (booted)" (its start), so "booted" after
 * a live move means libvirt restarted the guest (on_crash restart).
 */
export function judgeGuest(w: GuestWatch, mode: 'live' | 'cold'): GuestVerdict {
  const crashed: string[] = [];
  const rebooted: string[] = [];
  for (const ev of w.events) {
    if (ev.event === 'lifecycle' && /^(Crashed|Stopped Crashed)\b/i.test(ev.detail)) crashed.push(`event ${ev.detail}`);
    else if (ev.event === 'reboot') rebooted.push('reboot event');
  }
  const reason = w.reason.toLowerCase();
  if (w.state === 'SERVER_STATE_CRASHED') crashed.push(stateText(w));
  // Running (crashed) is libvirt's "running again after a crash" (on_crash
  // restart): the crash itself, even when its Crashed event was not seen
  // (a busy host, the event before the watch) and only the reboots were.
  else if (reason === 'crashed' || ((w.state === 'SERVER_STATE_SHUTOFF' || w.state === 'SERVER_STATE_PAUSED') && reason === 'panicked'))
    crashed.push(stateText(w));
  else if (w.state === 'SERVER_STATE_RUNNING' && mode === 'live' && reason === 'booted') rebooted.push(stateText(w));
  const seen = [...crashed, ...rebooted];
  if (crashed.length) return { health: 'GUEST_HEALTH_CRASHED', detail: seen.join('; ') };
  if (rebooted.length) return { health: 'GUEST_HEALTH_REBOOTED', detail: seen.join('; ') };
  if (w.state === null) return { health: 'GUEST_HEALTH_UNKNOWN', detail: 'no longer defined on the target' };
  if (w.state !== 'SERVER_STATE_RUNNING' && w.state !== 'SERVER_STATE_BLOCKED') return { health: 'GUEST_HEALTH_STOPPED', detail: stateText(w) };
  return { health: 'GUEST_HEALTH_ALIVE', detail: '' };
}

const WORD: Record<GuestHealth, string> = {
  GUEST_HEALTH_UNSPECIFIED: 'not checked',
  GUEST_HEALTH_ALIVE: 'alive',
  GUEST_HEALTH_CRASHED: 'crashed',
  GUEST_HEALTH_REBOOTED: 'rebooted',
  GUEST_HEALTH_STOPPED: 'not running',
  GUEST_HEALTH_UNKNOWN: 'unknown',
};

/**
 * Watches a moved guest on its target and judges it; a watch that fails is
 * UNKNOWN, never an error. Also used by the reconcile of a move that ended
 * while no agent ran (./reconcile.ts).
 */
export async function verdictOnMovedGuest(
  hv: Hypervisor,
  m: Pick<Migration, 'target_uri' | 'target_host_id' | 'server_uuid' | 'mode'>,
  watchMs: number,
  signal?: AbortSignal,
): Promise<GuestVerdict> {
  try {
    const w = await hv.watchGuestOn(m.target_uri, m.server_uuid, watchMs, signal);
    return judgeGuest(w, m.mode === 'MIGRATION_MODE_COLD' ? 'cold' : 'live');
  } catch (err) {
    return { health: 'GUEST_HEALTH_UNKNOWN', detail: `could not watch it on ${m.target_host_id}: ${errorMessage(err)}` };
  }
}

/** The verdict as one line for events and logs. */
export function verdictText(v: GuestVerdict): string {
  return `guest ${WORD[v.health]} after the move${v.detail ? `: ${v.detail}` : ''}`;
}

/**
 * Judges the moved guest on the target (a guest that was running only) and
 * records the verdict on the migration. With no watch window (the default),
 * `arrival` (state and reason read by the call that verified the move) is
 * judged as it is: no call of its own, so a move is not reported later for
 * it. With a window, the move is reported complete only after it.
 */
export async function checkMovedGuest(ctx: FlowContext, r: Running, log: Logger, arrival?: GuestWatch): Promise<void> {
  const m = r.stored.migration;
  if (!m.was_running) return;
  const watchMs = ctx.settings.guestWatchMs;
  if (watchMs > 0) ctx.update(r, {}, `watching the guest on ${m.target_host_id} for ${(watchMs / 1000).toFixed(1)} s`);
  const verdict =
    watchMs === 0 && arrival
      ? judgeGuest(arrival, m.mode === 'MIGRATION_MODE_COLD' ? 'cold' : 'live')
      : await verdictOnMovedGuest(ctx.hv, m, watchMs, r.job.signal);
  const text = verdictText(verdict);
  if (verdict.health !== 'GUEST_HEALTH_ALIVE') log.warn({ guestHealth: verdict.health, detail: verdict.detail }, text);
  ctx.update(r, { guest_health: verdict.health, guest_health_detail: verdict.detail }, text, true);
}
