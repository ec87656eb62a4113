// What the admin API's maintenance methods do, apart from gRPC: validate,
// plan, write the records (CAS), and leave the work to the leader's engine.
// Every refusal happens before the first write (docs/design.md invariant 7).
import { randomUUID } from 'node:crypto';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../common/errors.ts';
import type { Repository, Versioned } from '../store/repository.ts';
import type { OperationHeader } from './op-layout.ts';
import type { HostRecord, InventorySnapshot, ServerRecord } from '../model.ts';
import { releaseServerClaims } from './steps.ts';
import { newOperationRecord, newStep } from './operation-record.ts';
import { planMaintenance, assertPlanRunnable } from '../planner/index.ts';
import type { Plan, Reservations } from '../planner/index.ts';
import type { CpuPlacement } from './context.ts';
import type { OperationStore } from './op-store.ts';
import type { OperationEvent } from './events.ts';
import { isTerminal, type OperationKind, type OperationRecord, type StepAction, type StepRecord } from './types.ts';

export interface MaintenanceServiceOptions {
  ops: OperationStore;
  hosts: Repository<HostRecord>;
  servers: Repository<ServerRecord>;
  snapshot(signal?: AbortSignal): Promise<InventorySnapshot>;
  /** Reservations of running operations (the leader's engine), if local. */
  reservations?: () => Reservations | undefined;
  cpu?: CpuPlacement;
  /** Why unfinished operations cannot move now: the NATS store is full (store/condition.ts); null when it is not. */
  storePauseReason?: () => string | null;
  /** Wakes the engine when this instance leads. */
  kick?: () => void;
  clock?: () => number;
}

/** Operations whose moves estimate the bandwidth of the next plan. */
const RECENT_FOR_BANDWIDTH = 100;

const ACTION_OF: Record<string, StepAction> = { LIVE_MIGRATE: 'live', COLD_MIGRATE: 'cold', STOP: 'stop', NONE: 'none' };

export class MaintenanceService {
  private readonly clock: () => number;

  constructor(private readonly o: MaintenanceServiceOptions) {
    this.clock = o.clock ?? Date.now;
  }

  /** Median bandwidth of completed migrations (bytes/s), for estimates. */
  async measuredBandwidthBps(): Promise<number | undefined> {
    // The newest operations' samples (kept in their headers): no step is read.
    const samples = (await this.o.ops.page('', RECENT_FOR_BANDWIDTH, {})).flatMap((h) => h.value.bandwidthSamples);
    if (samples.length === 0) return undefined;
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)];
  }

  async plan(hostId: string, stopUnmigratable: boolean): Promise<Plan> {
    if (!hostId) throw new InvalidArgumentError('host_id', 'required');
    const snapshot = await this.o.snapshot();
    const measured = await this.measuredBandwidthBps();
    await this.o.cpu?.prepare(snapshot, hostId);
    const cpuCompatible = this.o.cpu?.compatible();
    return planMaintenance(
      snapshot,
      { hostId, stopUnmigratable },
      {
        ...(measured ? { measuredBandwidthBps: measured } : {}),
        ...(this.o.reservations?.() ? { reservations: this.o.reservations()! } : {}),
        ...(cpuCompatible ? { cpuCompatible } : {}),
      },
    );
  }

  private newOperation(kind: OperationKind, host: HostRecord, requestedBy: string, steps: StepRecord[]): OperationRecord {
    const now = this.clock();
    return newOperationRecord({ id: `op-${now.toString(36)}-${randomUUID().slice(0, 8)}`, kind, host, requestedBy, steps, nowMs: now });
  }

  /**
   * Plans, refuses (changing nothing) when the plan cannot run, then marks
   * the host entering maintenance and stores the operation. The host CAS
   * comes first: two concurrent requests for one host cannot both win.
   */
  async enable(hostId: string, stopUnmigratable: boolean, confirm: boolean, requestedBy: string): Promise<OperationRecord> {
    if (!hostId) throw new InvalidArgumentError('host_id', 'required');
    if (!confirm) throw new InvalidArgumentError('confirm', 'enabling maintenance must be confirmed (confirm: true)');
    const plan = await this.plan(hostId, stopUnmigratable);
    assertPlanRunnable(plan);
    const host = (await this.o.hosts.require(hostId)).value;
    const previous = host.maintenanceOpId ? await this.o.ops.get(host.maintenanceOpId) : null;
    if (previous && !isTerminal(previous.value) && previous.value.state !== 'paused') {
      throw new FailedPreconditionError(
        `host ${hostId} is already being drained by ${previous.value.id} (${previous.value.state}); watch it or cancel it first`,
      );
    }
    const steps: StepRecord[] = plan.servers.map((p) =>
      newStep({
        serverUuid: p.serverUuid,
        serverName: p.serverName,
        action: ACTION_OF[p.action] ?? 'none',
        sourceHostId: hostId,
        etaSeconds: p.estimatedSeconds,
        wasRunning: p.wasRunning,
        memoryBytes: p.memoryBytes,
        localDiskBytes: p.localDiskBytes,
        vcpus: p.vcpus,
        reason: p.reason,
      }),
    );
    const op = this.newOperation('enable_maintenance', host, requestedBy, steps);
    op.stopUnmigratable = stopUnmigratable;
    await this.o.hosts.mutate(hostId, (h) => {
      if (h.maintenance !== 'none' && h.maintenance !== 'entering') {
        throw new FailedPreconditionError(`host ${hostId} is ${h.maintenance.replace('_', ' ')}`);
      }
      if (h.maintenanceOpId !== host.maintenanceOpId) throw new FailedPreconditionError(`host ${hostId} changed while planning; try again`);
      h.maintenance = 'entering';
      h.maintenanceOpId = op.id;
      return h;
    });
    // A paused drain is superseded by the new one (same host, fresh plan);
    // its claims on servers pass to the new operation as it starts each step.
    if (previous && previous.value.state === 'paused') {
      await this.o.ops.update(
        previous.value.id,
        (o) => {
          if (isTerminal(o)) return undefined;
          o.state = 'cancelled';
          o.reason = `superseded by ${op.id}`;
          for (const s of o.steps) if (s.phase === 'pending') s.phase = 'cancelled';
          return o;
        },
        (o) => [{ type: 'state', message: o.reason }],
      );
      await releaseServerClaims({ servers: this.o.servers }, previous.value);
    }
    try {
      await this.o.ops.create(op, `maintenance requested for ${hostId}: ${steps.length} server(s), about ${plan.estimatedSeconds} s`);
    } catch (err) {
      await this.o.hosts
        .mutate(hostId, (h) => (h.maintenanceOpId === op.id ? { ...h, maintenance: host.maintenance, maintenanceOpId: host.maintenanceOpId } : undefined))
        .catch(() => undefined);
      throw err;
    }
    this.o.kick?.();
    return op;
  }

  async disable(hostId: string, skipReboot: boolean, requestedBy: string): Promise<OperationRecord> {
    if (!hostId) throw new InvalidArgumentError('host_id', 'required');
    const host = (await this.o.hosts.require(hostId)).value;
    if (host.maintenance === 'none') throw new FailedPreconditionError(`host ${hostId} is not in maintenance`);
    const current = host.maintenanceOpId ? await this.o.ops.get(host.maintenanceOpId) : null;
    // A return that paused (reboot failed, host not back, unhealthy) or was
    // cancelled is retried by disabling again; one still running is not doubled.
    if (current && !isTerminal(current.value) && current.value.state !== 'paused') {
      throw new FailedPreconditionError(
        current.value.kind === 'disable_maintenance'
          ? `host ${hostId} is already returning (operation ${current.value.id}, ${current.value.stage || current.value.state})`
          : `host ${hostId} is still being drained by ${current.value.id}; cancel it first (drydock ops cancel ${current.value.id})`,
      );
    }
    const op = this.newOperation('disable_maintenance', host, requestedBy, []);
    op.skipReboot = skipReboot;
    op.stage = 'queued';
    op.sourceOperationId = current?.value.id ?? '';
    await this.o.hosts.mutate(hostId, (h) => {
      if (h.maintenanceOpId !== host.maintenanceOpId || h.maintenance !== host.maintenance)
        throw new FailedPreconditionError(`host ${hostId} changed meanwhile; try again`);
      h.maintenanceOpId = op.id;
      return h;
    });
    if (current && current.value.state === 'paused') {
      await this.o.ops.update(
        current.value.id,
        (o) => (isTerminal(o) ? undefined : { ...o, state: 'cancelled', reason: `superseded by ${op.id} (disable maintenance)` }),
        (o) => [{ type: 'state', message: o.reason }],
      );
      await releaseServerClaims({ servers: this.o.servers }, current.value);
    }
    await this.o.ops.create(op, `return to service requested for ${hostId}${host.storageCluster ? ` (storage cluster ${host.storageCluster})` : ''}`);
    this.o.kick?.();
    return op;
  }

  /** The servers the host's last completed drain moved away. */
  async returnServers(hostId: string, uuids: string[], requestedBy: string): Promise<OperationRecord> {
    if (!hostId) throw new InvalidArgumentError('host_id', 'required');
    const host = (await this.o.hosts.require(hostId)).value;
    if (host.maintenance !== 'none') throw new FailedPreconditionError(`host ${hostId} is ${host.maintenance.replace('_', ' ')}: return it to service first`);
    // A drain's header lists its moves once it stopped; one still running lists them in its steps (op-layout.ts).
    const drains = (await this.o.ops.list())
      .filter((o) => o.kind === 'enable_maintenance' && o.hostId === hostId && (o.movedAway.length > 0 || o.doneCount > 0))
      .sort((a, b) => b.createdAtMs - a.createdAtMs);
    let last: Pick<OperationRecord, 'id' | 'movedAway'> | undefined;
    for (const h of drains) {
      const moved = h.movedAway.length > 0 ? h : (await this.o.ops.get(h.id))?.value;
      if (moved && moved.movedAway.length > 0) {
        last = moved;
        break;
      }
    }
    if (!last) throw new FailedPreconditionError(`no servers were moved away from ${hostId} by a maintenance`);
    const wanted = new Set(uuids);
    for (const u of wanted)
      if (!last.movedAway.some((m) => m.serverUuid === u))
        throw new InvalidArgumentError('server_uuids', `${u} was not moved away from ${hostId} by ${last.id}`);
    const snapshot = await this.o.snapshot();
    const steps: StepRecord[] = last.movedAway
      .filter((m) => wanted.size === 0 || wanted.has(m.serverUuid))
      .map((m) => {
        const s = snapshot.servers.find((x) => x.uuid === m.serverUuid);
        return newStep({
          serverUuid: m.serverUuid,
          serverName: m.serverName,
          action: 'live',
          sourceHostId: s?.hostId ?? m.toHostId,
          targetHostId: hostId,
          wasRunning: m.wasRunning,
          memoryBytes: s?.memoryBytes ?? 0,
          vcpus: s?.vcpus ?? 0,
          reason: `moved away by ${last.id}`,
        });
      });
    const op = this.newOperation('return_servers', host, requestedBy, steps);
    op.sourceOperationId = last.id;
    await this.o.ops.create(op, `returning ${steps.length} server(s) to ${hostId}`);
    this.o.kick?.();
    return op;
  }

  async cancel(operationId: string, reason: string): Promise<OperationRecord> {
    if (!operationId) throw new InvalidArgumentError('operation_id', 'required');
    const cur = await this.o.ops.get(operationId);
    if (!cur) throw new NotFoundError('operation', operationId);
    if (isTerminal(cur.value)) throw new FailedPreconditionError(`operation ${operationId} already ended (${cur.value.state})`);
    const op = await this.o.ops.update(
      operationId,
      (o) => {
        if (isTerminal(o)) throw new FailedPreconditionError(`operation ${operationId} already ended (${o.state})`);
        if (o.cancelRequested) return undefined;
        o.cancelRequested = true;
        o.cancelReason = reason;
        return o;
      },
      () => [{ type: 'message', message: `cancel requested${reason ? `: ${reason}` : ''}` }],
    );
    this.o.kick?.();
    return op;
  }

  /** Sequence of the operation's newest event (WatchOperation from_seq resumes after it). */
  lastEventSeq(operationId: string): Promise<number> {
    return this.o.ops.events.lastSeq(operationId);
  }

  /** The whole record, or the summary of an archived one (its steps are gone). */
  async get(operationId: string): Promise<OperationRecord | OperationHeader> {
    if (!operationId) throw new InvalidArgumentError('operation_id', 'required');
    const h = await this.o.ops.header(operationId);
    if (!h) throw new NotFoundError('operation', operationId);
    if (h.value.archivedAtMs) return h.value;
    return this.shown((await this.o.ops.require(operationId)).value);
  }

  /**
   * The record as reads show it: while the NATS store is full nothing can be
   * written, the pause included, so a running operation reads paused with why.
   */
  private shown<T extends { state: OperationRecord['state']; reason: string }>(op: T): T {
    const reason = op.state === 'running' || op.state === 'pending' ? this.o.storePauseReason?.() : null;
    return reason ? { ...op, state: 'paused', reason } : op;
  }

  /** Up to `want` headers after key `after`, newest first (ListOperations pages). */
  async page(after: string, want: number, filter: { hostId?: string; activeOnly?: boolean }): Promise<Versioned<OperationHeader>[]> {
    return (await this.o.ops.page(after, want, filter)).map((v) => ({ ...v, value: this.shown(v.value) }));
  }

  /** Replays events from `fromSeq`, then follows; ends at the terminal state. */
  async *watch(operationId: string, fromSeq: number, signal: AbortSignal): AsyncGenerator<OperationEvent> {
    const op = await this.o.ops.header(operationId);
    if (!op) throw new NotFoundError('operation', operationId);
    const last = await this.o.ops.events.lastSeq(operationId);
    for await (const ev of this.o.ops.events.watch(operationId, fromSeq, signal)) {
      yield ev;
      // An operation that ended before this watch: stop after the replay.
      if (isTerminal(op.value) && ev.seq >= last) return;
    }
  }
}
