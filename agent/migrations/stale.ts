// Stale definitions: a shut-off copy of a server that runs on another host,
// left by an interrupted move (a cold move past its virsh deadline, an agent
// killed between define and undefine). Which copy is stale is the rule's
// (common/move-verdict.ts): only a shut-off one beside a copy that runs.
// Cleaning it is an undefine of that definition only; the hypervisor refuses
// it unless the domain is shut off (Hypervisor.undefineShutOff), so a copy
// that runs is never touched, nor are any disk files. Found and cleaned
// before a migration starts (manager.ts) and by the start-up reconcile
// (reconcile.ts).
import { moveVerdict, type MoveVerdict } from '../../common/move-verdict.ts';
import type { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';
import type { Hypervisor } from '../hypervisor/hypervisor.ts';
import { ServerDefinedTwiceError } from './errors.ts';

export interface TwoCopies {
  uuid: string;
  /** The copy on this host (the move's source). */
  here: ServerState;
  /** The copy on the target. */
  there: ServerState;
  hostId: string;
  targetHostId: string;
  targetUri: string;
  /** The power state the move keeps (Migration.was_running). */
  expectRunning: boolean;
}

/** The rule applied to a server defined on this host and on the target. */
export function verdictOfTwo(c: TwoCopies): MoveVerdict {
  return moveVerdict({ source: c.here, target: c.there, expectRunning: c.expectRunning, sourceHostId: c.hostId, targetHostId: c.targetHostId });
}

/**
 * Undefines the copy the rule names stale; returns what was done, in words
 * (for the migration's record and events). Throws ServerDefinedTwiceError,
 * touching neither copy, when neither is known stale (both shut off, both
 * running); the hypervisor's error when the undefine is refused.
 */
export async function removeStaleCopy(hv: Hypervisor, c: TwoCopies, signal?: AbortSignal): Promise<{ removed: 'source' | 'target'; note: string }> {
  const v = verdictOfTwo(c);
  if (v.stale === null) {
    throw new ServerDefinedTwiceError(`server ${c.uuid} is ${v.reason}: neither copy was started, moved or undefined; undefine the stale one`, {
      details: { server: c.uuid, target: c.targetHostId },
    });
  }
  const [staleOn, runsOn] = v.stale === 'target' ? [c.targetHostId, c.hostId] : [c.hostId, c.targetHostId];
  await hv.undefineShutOff(c.uuid, v.stale === 'target' ? c.targetUri : undefined, signal);
  return {
    removed: v.stale,
    note: `removed the stale shut-off definition of ${c.uuid} on ${staleOn} (the server runs on ${runsOn}); its disk files were kept`,
  };
}
