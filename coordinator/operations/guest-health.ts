// A done move's guest health (issue 12, defect 7): the source agent watches
// the guest on its target right after the move (agent/migrations/
// guest-health.ts) and says whether it arrived alive. Here: that verdict as
// the step records it, its wire name, and the one rule for what counts as
// "moved alive" in an operation's summary.
import type { GuestHealth } from '../../common/generated/drydock/agent/v1/GuestHealth.ts';
import type { StepGuestHealth } from '../../common/generated/drydock/admin/v1/StepGuestHealth.ts';
import type { StepHealth, StepRecord } from './types.ts';

const FROM_AGENT: Record<GuestHealth, StepHealth> = {
  GUEST_HEALTH_UNSPECIFIED: '',
  GUEST_HEALTH_ALIVE: 'alive',
  GUEST_HEALTH_CRASHED: 'crashed',
  GUEST_HEALTH_REBOOTED: 'rebooted',
  GUEST_HEALTH_STOPPED: 'stopped',
  GUEST_HEALTH_UNKNOWN: 'unknown',
};

const TO_PROTO: Record<StepHealth, StepGuestHealth> = {
  '': 'STEP_GUEST_HEALTH_UNSPECIFIED',
  alive: 'STEP_GUEST_HEALTH_ALIVE',
  crashed: 'STEP_GUEST_HEALTH_CRASHED',
  rebooted: 'STEP_GUEST_HEALTH_REBOOTED',
  stopped: 'STEP_GUEST_HEALTH_STOPPED',
  unknown: 'STEP_GUEST_HEALTH_UNKNOWN',
};

export function stepHealthFromAgent(h: GuestHealth | undefined): StepHealth {
  return (h && FROM_AGENT[h]) || '';
}

export function stepHealthToProto(h: StepHealth | undefined): StepGuestHealth {
  return TO_PROTO[h ?? ''];
}

/** The move happened but the guest did not survive it intact: never counted as moved alive. */
export function movedNotAlive(s: Pick<StepRecord, 'phase' | 'guestHealth'>): boolean {
  return s.phase === 'done' && (s.guestHealth === 'crashed' || s.guestHealth === 'rebooted' || s.guestHealth === 'stopped');
}

/** The step's event text for a done move. */
export function movedMessage(s: Pick<StepRecord, 'serverName' | 'targetHostId' | 'action' | 'guestHealth' | 'guestHealthDetail'>): string {
  const moved = `${s.serverName} moved to ${s.targetHostId} (${s.action})`;
  if (s.guestHealth === 'crashed' || s.guestHealth === 'rebooted' || s.guestHealth === 'stopped') {
    const what = s.guestHealth === 'stopped' ? 'is not running' : s.guestHealth;
    return `${moved}, but the guest ${what} after the move${s.guestHealthDetail ? ` (${s.guestHealthDetail})` : ''}`;
  }
  if (s.guestHealth === 'unknown') return `${moved}; guest health after the move unknown${s.guestHealthDetail ? ` (${s.guestHealthDetail})` : ''}`;
  return moved;
}

/** ", 1 moved but crashed or rebooted after the move (web-1: crashed)" or "". */
export function notAliveSummary(steps: ReadonlyArray<Pick<StepRecord, 'phase' | 'guestHealth' | 'serverName'>>): string {
  const bad = steps.filter(movedNotAlive);
  if (!bad.length) return '';
  return `, ${bad.length} moved but not alive after the move (${bad.map((s) => `${s.serverName}: ${s.guestHealth}`).join(', ')})`;
}
