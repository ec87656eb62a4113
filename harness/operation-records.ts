// Operation and step records for tests and benchmarks of the operation
// store: a running drain of `steps` pending live moves off one host, each
// field overridable. One builder, so a new record field is added once.
import type { OperationRecord, StepRecord } from '../coordinator/operations/types.ts';
import { newOperationRecord, newStep } from '../coordinator/operations/operation-record.ts';

/** Step i of a drain off `hostId`: a pending live move of a 1 GiB, 1-vCPU server (uuid prefix distinguishes callers). */
export function stepRecord(i: number, over: Partial<StepRecord> = {}, uuidPrefix = '22222222'): StepRecord {
  return newStep({
    serverUuid: `${uuidPrefix}-0000-4000-8000-${String(i).padStart(12, '0')}`,
    serverName: `vm-${i}`,
    action: 'live',
    sourceHostId: 'h1',
    wasRunning: true,
    reason: 'fits',
    memoryBytes: 1024 ** 3,
    vcpus: 1,
    ...over,
  });
}

/** A running drain of `host` with the given steps (the service's new record, moved on to running). */
export function drainRecord(id: string, steps: StepRecord[], over: Partial<OperationRecord> = {}): OperationRecord {
  return {
    ...newOperationRecord({
      id,
      kind: 'enable_maintenance',
      host: { id: 'h1', zoneId: 'z1', storageCluster: '' },
      requestedBy: 'test',
      steps,
      nowMs: Date.now(),
    }),
    state: 'running',
    reason: 'draining',
    history: [],
    ...over,
  };
}
