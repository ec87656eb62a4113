// The one rule for "is this move complete", and for which copy of a server
// defined on two hosts is stale. Pure: the callers ask the hypervisors and
// hand over what they answered. Used by the coordinator when the source
// agent cannot tell it how a migration ended (coordinator/operations/
// step-runner.ts), by the agent's flows to verify a move
// (agent/migrations/verify.ts), by the agent's start-up reconcile
// (agent/migrations/reconcile.ts) and before a migration starts
// (agent/migrations/manager.ts).
//
// A move is complete only when the source no longer runs or defines the
// server and the target holds it in the expected power state. A target that
// merely lists a definition proves nothing: an interrupted move (a cold move
// past its virsh deadline, an agent killed between define and undefine)
// leaves shut-off definitions behind.
import type { ServerState } from './generated/drydock/agent/v1/ServerState.ts';

/** What one host said of the server: its power state, null when it does not define it, undefined when it did not answer. */
export type Presence = ServerState | null | undefined;

export interface MoveFacts {
  source: Presence;
  target: Presence;
  /** The power state the server had before the move, which the move keeps (Migration.was_running). */
  expectRunning: boolean;
  /** Host ids, for the reason. */
  sourceHostId: string;
  targetHostId: string;
}

export interface MoveVerdict {
  /** False when a host did not answer: nothing is concluded (ask again). */
  known: boolean;
  complete: boolean;
  /**
   * A shut-off definition of a server that runs on the other host: safe to
   * undefine (only the definition; never one that runs). null when there
   * is none, or when which copy is current cannot be told (both shut off,
   * both running).
   */
  stale: 'source' | 'target' | null;
  /** Where the server is and why that is (not) a completed move, for errors and events. */
  reason: string;
}

/**
 * Active: libvirt has a guest (every state but shut off and crashed, as
 * Migration.was_running counts it: a paused guest moves paused). An
 * unspecified state proves nothing, either way.
 */
export function isActive(state: ServerState): boolean {
  return state !== 'SERVER_STATE_SHUTOFF' && state !== 'SERVER_STATE_CRASHED' && state !== 'SERVER_STATE_UNSPECIFIED';
}

function isOff(state: ServerState): boolean {
  return state === 'SERVER_STATE_SHUTOFF' || state === 'SERVER_STATE_CRASHED';
}

/** What one host holds, in words. */
function held(hostId: string, p: ServerState | null): string {
  return p === null ? `not defined on ${hostId}` : `${p === 'SERVER_STATE_SHUTOFF' ? 'shut off' : p.replace('SERVER_STATE_', '').toLowerCase()} on ${hostId}`;
}

/** The rule. See the file header; the table of cases is test/move-verdict.test.ts. */
export function moveVerdict(f: MoveFacts): MoveVerdict {
  const { source, target, sourceHostId: from, targetHostId: to } = f;
  if (source === undefined || target === undefined) {
    const silent = [source === undefined ? from : '', target === undefined ? to : ''].filter(Boolean).join(' and ');
    return { known: false, complete: false, stale: null, reason: `${silent} did not answer: where the server is is unknown` };
  }
  const expected = f.expectRunning ? 'running' : 'shut off';
  const where = `${held(from, source)}, ${held(to, target)}`;
  if (source === null && target === null) return { known: true, complete: false, stale: null, reason: `server is defined on neither host (${where})` };
  if (source === null) {
    const ok = f.expectRunning ? isActive(target!) : isOff(target!);
    return { known: true, complete: ok, stale: null, reason: ok ? `moved: ${where}` : `${held(to, target)}, expected ${expected} there` };
  }
  if (target === null) return { known: true, complete: false, stale: null, reason: `not moved: ${where}` };
  // Defined on both hosts. Only the target running while the source is shut off (or the reverse) says which copy is current.
  const stale = staleCopy(source, target!);
  if (stale === 'target') return { known: true, complete: false, stale, reason: `not moved: ${where} (a stale definition left by an earlier move)` };
  if (stale === 'source') return { known: true, complete: false, stale, reason: `${where}: the definition left on ${from} is stale` };
  const neither = isActive(source) && isActive(target!) ? 'both copies are active' : 'which copy is current cannot be told';
  return { known: true, complete: false, stale: null, reason: `defined on both ${from} (${source}) and ${to} (${target}): ${neither}` };
}

/** Of two definitions of one server, the stale one: shut off (exactly: not crashed, which may hold a guest) while the other is active. */
function staleCopy(source: ServerState, target: ServerState): 'source' | 'target' | null {
  if (source === 'SERVER_STATE_SHUTOFF' && isActive(target)) return 'source';
  if (target === 'SERVER_STATE_SHUTOFF' && isActive(source)) return 'target';
  return null;
}
