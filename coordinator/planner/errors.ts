// The planner's typed failures. Each extends the common base that fixes its
// gRPC status (common/errors.ts), so the admin API maps them without
// looking at messages.
import { FailedPreconditionError, NotFoundError } from '../../common/errors.ts';
import type { CandidateVerdict, Plan, PlannedServer, PlanRefusal } from './types.ts';

/**
 * No host can take the server: every candidate failed a check, or the
 * attempts allowed per server are used up (Nova's NoValidHost after
 * max retries).
 */
export class NoValidTargetError extends FailedPreconditionError {
  constructor(
    readonly serverUuid: string,
    readonly attemptedHostIds: readonly string[],
    readonly candidates: readonly CandidateVerdict[],
    message: string,
  ) {
    super(message, { details: { serverUuid, attemptedHostIds: attemptedHostIds.join(',') } });
  }
}

/** The host cannot enter maintenance at all (not KVM, no zone, already in maintenance, ...). */
export class PlanRefusedError extends FailedPreconditionError {
  constructor(
    readonly hostId: string,
    readonly refusals: readonly PlanRefusal[],
  ) {
    super(`host ${hostId} cannot enter maintenance: ${refusals.map((r) => r.message).join('; ')}`, {
      details: { hostId, refusals: refusals.map((r) => r.code).join(',') },
    });
  }
}

/** stop_unmigratable is off and some servers fit nowhere: the request is refused, listing them. */
export class UnmigratableServersError extends FailedPreconditionError {
  constructor(
    readonly hostId: string,
    readonly blockers: readonly PlannedServer[],
  ) {
    super(
      `host ${hostId}: ${blockers.length} server(s) cannot move and stop_unmigratable is off: ` +
        blockers.map((b) => `${b.serverName || b.serverUuid} (${b.reason})`).join('; '),
      { details: { hostId, servers: blockers.map((b) => b.serverUuid).join(',') } },
    );
  }
}

/**
 * Throws the error EnableMaintenance must answer with when the plan cannot
 * run: NOT_FOUND for an unknown host, FAILED_PRECONDITION for refusals and
 * for blockers. A plan that passes changes nothing by being checked.
 */
export function assertPlanRunnable(plan: Plan): void {
  const notFound = plan.refusals.find((r) => r.code === 'host-not-found');
  if (notFound) throw new NotFoundError('host', plan.hostId);
  if (plan.refusals.length > 0) throw new PlanRefusedError(plan.hostId, plan.refusals);
  if (plan.blockers.length > 0) throw new UnmigratableServersError(plan.hostId, plan.blockers);
}
