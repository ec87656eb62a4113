// A new operation's record and its pending steps, as the maintenance service stores it when a
// request is accepted: every field at its starting value. One literal, so a
// new record field is added once (the test harness builds its records from
// it too, harness/operation-records.ts).
import type { OperationKind, OperationRecord, StepRecord } from './types.ts';

/** The record of an accepted operation on one host, pending, with its steps. */
export function newOperationRecord(o: {
  id: string;
  kind: OperationKind;
  host: { id: string; zoneId: string; storageCluster: string };
  requestedBy: string;
  steps: StepRecord[];
  nowMs: number;
}): OperationRecord {
  return {
    id: o.id,
    kind: o.kind,
    hostId: o.host.id,
    zoneId: o.host.zoneId,
    storageCluster: o.host.storageCluster,
    state: 'pending',
    reason: 'accepted',
    stage: '',
    steps: o.steps,
    stopUnmigratable: false,
    requestedBy: o.requestedBy,
    createdAtMs: o.nowMs,
    updatedAtMs: o.nowMs,
    finishedAtMs: 0,
    movedAway: [],
    cancelRequested: false,
    cancelReason: '',
    previousIncarnation: '',
    previousBootId: '',
    skipReboot: false,
    stageSinceMs: o.nowMs,
    sourceOperationId: '',
    history: [{ state: 'pending', stage: '', atMs: o.nowMs, reason: 'accepted' }],
  };
}

/** A pending step: the given fields, the rest at their starting values. */
export function newStep(
  f: Pick<StepRecord, 'serverUuid' | 'serverName' | 'action' | 'sourceHostId' | 'wasRunning' | 'reason'> & Partial<StepRecord>,
): StepRecord {
  return {
    phase: 'pending',
    targetHostId: '',
    migrationId: '',
    attempt: 0,
    triedTargets: [],
    percent: 0,
    bytesProcessed: 0,
    bytesTotal: 0,
    bandwidthBps: 0,
    etaSeconds: 0,
    memoryBytes: 0,
    localDiskBytes: 0,
    vcpus: 0,
    error: '',
    startedAtMs: 0,
    finishedAtMs: 0,
    ...f,
  };
}
