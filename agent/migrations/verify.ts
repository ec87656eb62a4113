// Trust but verify: after a flow's hypervisor calls reported success, the
// move is checked against the one rule (common/move-verdict.ts) on what both
// hypervisors answer now: gone from here, and on the target in the power
// state it had. A migration is recorded COMPLETED only past this check.
import { NotFoundError } from '../../common/errors.ts';
import { moveVerdict, type Presence } from '../../common/move-verdict.ts';
import { MigrationVerificationError } from './errors.ts';
import type { FlowContext, Running } from './flow.ts';
import type { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';

/** Each host's answer (its state, null when it does not define the server), as a flow prepared the question while the guest moved (live.ts). */
export interface PreparedAnswers {
  target?: () => Promise<ServerState | null>;
  source?: () => Promise<ServerState | null>;
}

/** `prepared`: the answers the flow prepared; a side without one is asked now. */
export async function verifyMoved(ctx: FlowContext, r: Running, prepared: PreparedAnswers = {}): Promise<void> {
  const m = r.stored.migration;
  const req = r.stored.request;
  const askTarget = prepared.target ?? (() => ctx.hv.stateOn(req.target_uri, m.server_uuid));
  const askSource = prepared.source ?? (async () => (await ctx.hv.getServer(m.server_uuid)).state);
  const [here, there] = await Promise.allSettled([askSource(), askTarget()]);
  const source: Presence = here.status === 'fulfilled' ? here.value : here.reason instanceof NotFoundError ? null : undefined;
  const target: Presence = there.status === 'fulfilled' ? there.value : undefined;
  const v = moveVerdict({ source, target, expectRunning: m.was_running, sourceHostId: ctx.hostId, targetHostId: req.target_host_id });
  if (!v.complete) throw new MigrationVerificationError(`the move of ${m.server_uuid} reported success, but it is not complete: ${v.reason}`);
}
