// Scenes of the capacity-hold tests (test/drain-resume-hold, drain-throw-hold,
// drain-double-count, drain-failure-double-count, return-double-count,
// drain-release-race): a zone of sim hosts, a drain left mid-attempt as a
// leader that crashed after recording a start leaves it, a move that arrived
// without the coordinator, and what a host holds. Built on startWorld
// (maintenance-world.ts); the records from operation-records.ts.
import { waitFor } from './coordinator-helpers.ts';
import { drainRecord, stepRecord } from './operation-records.ts';
import { startWorld, type World } from './maintenance-world.ts';
import { migrationIdFor } from '../coordinator/operations/decide.ts';
import type { OperationRecord, StepRecord } from '../coordinator/operations/types.ts';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
/** The zone's default host memory reserve (coordinator/model.ts DEFAULT_ZONE_POLICY). */
export const RESERVE = GiB;
/** The states an operation ends (or stops) in. */
export const ENDED = ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED', 'OPERATION_STATE_CANCELLED'];

/** Zone z1 of `hosts`, with the given migration limits (room for several at once unless said). */
export async function zoneOf(
  w: World,
  hosts: readonly string[],
  limits: { perSource?: number; perZone?: number; incomingPerTarget?: number } = {},
): Promise<void> {
  await w.call('CreateZone', {
    zone_id: 'z1',
    name: 'z1',
    cpu_mode: 'CPU_MODE_DEFAULT',
    policy: {
      max_migrations_per_source: limits.perSource ?? 2,
      max_migrations_per_zone: limits.perZone ?? 4,
      max_incoming_per_target: limits.incomingPerTarget ?? 4,
    },
  });
  for (const h of hosts) await w.call('UpdateHost', { host_id: h, zone_id: 'z1' });
}

/** Waits until `hostId` reports `bytes` of free memory to the coordinator. */
export async function waitForReportedFree(w: World, hostId: string, bytes: number): Promise<void> {
  await waitFor(
    `${hostId} reports ${bytes / MiB} MiB free`,
    async () => Number((await w.call('ListHosts', {})).hosts.find((h: any) => h.id === hostId)?.memory_free_bytes ?? 0) === bytes,
    20_000,
    100,
  );
}

/** Step i of `opId`, mid-attempt toward `target` (attempt 1, started now), as a leader records a start. */
export function midAttemptStep(
  opId: string,
  i: number,
  server: { uuid: string; name: string; vcpus: number },
  source: string,
  target: string,
  memoryBytes: number,
): StepRecord {
  return stepRecord(i, {
    serverUuid: server.uuid,
    serverName: server.name,
    sourceHostId: source,
    phase: 'migrating',
    targetHostId: target,
    attempt: 1,
    triedTargets: [target],
    migrationId: migrationIdFor(opId, i, 1),
    memoryBytes,
    vcpus: server.vcpus,
    startedAtMs: Date.now(),
  });
}

/** A drain of `source` with these steps, stored as a worker finds it (its host entering maintenance), and the engine kicked. */
export async function leaveDrain(w: World, opId: string, source: string, steps: StepRecord[], why: string, over: Partial<OperationRecord> = {}): Promise<void> {
  await w.coordinator.store.hosts.mutate(source, (h) => ({ ...h, maintenance: 'entering', maintenanceOpId: opId }));
  await w.maintenance.ops().create(drainRecord(opId, steps, { hostId: source, zoneId: 'z1', ...over }), why);
  w.maintenance.engine().kick();
}

/** A return of `steps` to `hostId`, stored as ReturnServers records it (coordinator/operations/service.ts), and the engine kicked. */
export async function leaveReturn(w: World, opId: string, hostId: string, steps: StepRecord[], why: string): Promise<void> {
  await w.maintenance
    .ops()
    .create(drainRecord(opId, steps, { kind: 'return_servers', hostId, zoneId: 'z1', reason: `returning ${steps.length} server(s) to ${hostId}` }), why);
  w.maintenance.engine().kick();
}

/**
 * `uuid` (named `name`) arrived on `to` without the coordinator moving it,
 * its record not claimed, so the inventory follows the host events there;
 * returns once the records show it on `to`.
 */
export async function arrivedUnclaimed(w: World, uuid: string, name: string, from: string, to: string): Promise<void> {
  w.sims.fabric.placement.get(uuid)!.host = w.sims.fabric.hostById(to)!;
  // What libvirt says on both sides of a move (harness/sim/live-migration.ts).
  w.sims.byId(from).sim.emit('lifecycle', name, 'Undefined Removed');
  for (const detail of ['Defined Added', 'Started Migrated', 'Resumed Migrated']) w.sims.byId(to).sim.emit('lifecycle', name, detail);
  await waitFor(`the records show ${name} on ${to}`, async () => (await w.coordinator.store.servers.get(uuid))?.value.hostId === to, 20_000, 100);
}

/** The memory of the servers the hypervisor of `hostId` holds. */
export function heldOn(w: World, hostId: string): number {
  return w.sims
    .byId(hostId)
    .sim.servers()
    .reduce((sum, s) => sum + s.memory_bytes, 0);
}

/**
 * Four sim hosts in z1; sim-2 has room for two 512 MiB servers, exactly.
 * `a` (from sim-4) has arrived on sim-2 and the records show it there, yet
 * drain A (`opA`, left mid-attempt a → sim-2) still holds sim-2 for it: its
 * source answers 8 s late (until `sourceOnTime()`), so its attempt does not
 * end. `other` is a second 512 MiB server on the host named.
 */
export async function heldArrival(opA: string, other: { name: string; host: string }) {
  const size = 512 * MiB;
  const room = 2 * size;
  const w = await startWorld({
    hosts: 4,
    // sim-4 answers late: its heartbeats too, so "offline" is given more time.
    offlineAfter: '30s',
    sim: {
      fabricOptions: { bandwidthBps: GiB, tickMs: 20, setupMs: 50 },
      hostOptions: (_i, id) => (id === 'sim-2' ? { memoryTotalBytes: room + RESERVE } : {}),
    },
  });
  try {
    await zoneOf(w, ['sim-1', 'sim-2', 'sim-3', 'sim-4']);
    const a = w.sims.byId('sim-4').sim.addServer({ name: 'a', memoryBytes: size });
    const second = w.sims.byId(other.host).sim.addServer({ name: other.name, memoryBytes: size });
    await waitFor('2 servers known', async () => (await w.call('ListServers', {})).servers.length === 2, 20_000, 200);
    await arrivedUnclaimed(w, a.uuid, 'a', 'sim-4', 'sim-2');
    w.sims.byId('sim-4').sim.faults.setLatency(8000);
    await leaveDrain(w, opA, 'sim-4', [midAttemptStep(opA, 0, a, 'sim-4', 'sim-2', size)], 'drain A left mid-attempt (test)');
    const holds = w.maintenance.engine().reservations();
    await waitFor('a’s attempt holds sim-2', () => holds.get(a.uuid)?.hostId === 'sim-2', 20_000, 20);
    return { w, a, other: second, holds, size, room, sourceOnTime: () => w.sims.byId('sim-4').sim.faults.setLatency(0) };
  } catch (err) {
    await w.close();
    throw err;
  }
}
