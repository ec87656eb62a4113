// Operation records, events and plans → admin proto messages (one place).
import type { Operation__Input } from '../../common/generated/drydock/admin/v1/Operation.ts';
import type { OperationEvent__Input } from '../../common/generated/drydock/admin/v1/OperationEvent.ts';
import type { ServerStep__Input } from '../../common/generated/drydock/admin/v1/ServerStep.ts';
import type { OperationState as ProtoOpState } from '../../common/generated/drydock/admin/v1/OperationState.ts';
import type { OperationEvent } from './events.ts';
import { stepHealthToProto } from './guest-health.ts';
import type { OperationHeader } from './op-layout.ts';
import type { OperationKind, OperationRecord, OperationState, StepAction, StepRecord } from './types.ts';

const KIND: Record<OperationKind, Operation__Input['kind']> = {
  enable_maintenance: 'OPERATION_KIND_ENABLE_MAINTENANCE',
  disable_maintenance: 'OPERATION_KIND_DISABLE_MAINTENANCE',
  return_servers: 'OPERATION_KIND_RETURN_SERVERS',
};

export const opStateToProto = (s: OperationState): ProtoOpState => `OPERATION_STATE_${s.toUpperCase()}` as ProtoOpState;

const ACTION: Record<StepAction, ServerStep__Input['action']> = {
  live: 'SERVER_ACTION_LIVE_MIGRATE',
  cold: 'SERVER_ACTION_COLD_MIGRATE',
  stop: 'SERVER_ACTION_STOP',
  none: 'SERVER_ACTION_NONE',
};

export function stepToProto(s: StepRecord): ServerStep__Input {
  return {
    server_uuid: s.serverUuid,
    server_name: s.serverName,
    action: ACTION[s.action],
    phase: `STEP_PHASE_${s.phase.toUpperCase()}` as ServerStep__Input['phase'],
    source_host_id: s.sourceHostId,
    target_host_id: s.targetHostId,
    migration_id: s.migrationId,
    attempt: s.attempt,
    tried_targets: s.triedTargets,
    percent: s.percent,
    bytes_processed: s.bytesProcessed,
    bytes_total: s.bytesTotal,
    bandwidth_bps: s.bandwidthBps,
    eta_seconds: s.etaSeconds,
    was_running: s.wasRunning,
    error: s.error,
    started_at_ms: s.startedAtMs,
    finished_at_ms: s.finishedAtMs,
    reason: s.reason,
    guest_health: stepHealthToProto(s.guestHealth),
    guest_health_detail: s.guestHealthDetail ?? '',
  };
}

/**
 * `lastEventSeq`: the stream sequence of the operation's newest event (the
 * event log knows it, not the record). A header (a list's entry, an archived
 * operation) has no steps: its counts come from the header, steps and
 * moved_away are left empty for a list entry (`brief`).
 */
export function operationToProto(op: OperationRecord | OperationHeader, lastEventSeq: number, brief = false): Operation__Input {
  const steps = 'steps' in op ? op.steps : [];
  const done = 'doneCount' in op ? op.doneCount : steps.filter((s) => ['done', 'failed', 'skipped', 'cancelled'].includes(s.phase)).length;
  return {
    id: op.id,
    kind: KIND[op.kind],
    host_id: op.hostId,
    state: opStateToProto(op.state),
    reason: op.reason,
    steps: steps.map(stepToProto),
    done,
    total: 'stepCount' in op ? op.stepCount : steps.length,
    stop_unmigratable: op.stopUnmigratable,
    requested_by: op.requestedBy,
    created_at_ms: op.createdAtMs,
    updated_at_ms: op.updatedAtMs,
    finished_at_ms: op.finishedAtMs,
    moved_away: brief
      ? []
      : op.movedAway.map((m) => ({ server_uuid: m.serverUuid, server_name: m.serverName, to_host_id: m.toHostId, was_running: m.wasRunning })),
    stage: op.stage,
    last_event_seq: lastEventSeq,
    archived_at_ms: 'archivedAtMs' in op ? op.archivedAtMs : 0,
  };
}

export function eventToProto(ev: OperationEvent): OperationEvent__Input {
  return {
    operation_id: ev.operationId,
    seq: ev.seq,
    at_ms: ev.atMs,
    type: ev.type,
    state: opStateToProto(ev.state),
    ...(ev.step ? { step: stepToProto(ev.step) } : {}),
    message: ev.message,
    done: ev.done,
    total: ev.total,
    stage: ev.stage,
  };
}

export { planToProto } from '../planner/index.ts';
