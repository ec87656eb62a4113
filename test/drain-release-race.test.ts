// A placement pairs its snapshot with the capacity holds in one synchronous
// section (coordinator/operations/placement-view.ts): a move's hold released
// after the snapshot's revision check but before the holds are copied would
// leave that move in neither view (the snapshot from before its record
// write, the holds after its release), and its target counted short.
// The race is made here, not waited for: drain A's completion write of a
// (onto target T) is held until drain B has read its snapshot (a still on
// sim-1 there); then a's attempt is let go on to release its hold, at one
// microtask offset after another from B's snapshot reaching its placement
// (the offset that hits the window depends on how many awaits the code has,
// so every offset of a range is tried, one per T). b's only candidate is T,
// which has room for a only; T's report is frozen (its agent answers late)
// so only the records and holds decide. B must never place b on T. Sim hosts,
// a real nats-server, real gRPC agents; the store and inventory are the
// coordinator's own, wrapped only to order the two events.
import test from 'ava';
import { startWorld, waitForOperation } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import { drainRecord, stepRecord } from '../harness/operation-records.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** The zone's default host memory reserve (coordinator/model.ts DEFAULT_ZONE_POLICY). */
const RESERVE = GiB;
const ENDED = ['OPERATION_STATE_SUCCEEDED', 'OPERATION_STATE_FAILED', 'OPERATION_STATE_PAUSED', 'OPERATION_STATE_CANCELLED'];
/** Microtask offsets tried: negative = the release is let go that many ticks after B's snapshot returns, else that many before. */
const OFFSETS = [-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8];

interface Gate {
  promise: Promise<void>;
  resolve: () => void;
}
const gate = (): Gate => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
const ticks = async (n: number) => {
  for (let j = 0; j < n; j++) await null;
};

test('a hold released while a placement pairs its snapshot with the holds never leaves the move in neither view: b is never placed on a full target', async (t) => {
  t.timeout(300_000);
  const size = 512 * MiB;
  const targets = OFFSETS.map((_d, k) => `sim-${3 + k}`);
  const w = await startWorld({
    hosts: 2 + targets.length,
    // Each target's report is frozen for a trial (its agent answers 20 s late): it stays online meanwhile.
    offlineAfter: '120s',
    sim: {
      fabricOptions: { bandwidthBps: 4 * GiB, tickMs: 20, setupMs: 20 },
      hostOptions: (_i, id) => (targets.includes(id) ? { memoryTotalBytes: size + RESERVE } : {}),
    },
  });
  t.teardown(() => w.close());
  await w.call('CreateZone', {
    zone_id: 'z1',
    name: 'z1',
    cpu_mode: 'CPU_MODE_DEFAULT',
    policy: { max_migrations_per_source: 2, max_migrations_per_zone: 4, max_incoming_per_target: 4 },
  });
  for (const h of ['sim-1', 'sim-2', ...targets]) await w.call('UpdateHost', { host_id: h, zone_id: 'z1' });
  const as = targets.map((_t, k) => w.sims.byId('sim-1').sim.addServer({ name: `a${k}`, memoryBytes: size }));
  const bs = targets.map((_t, k) => w.sims.byId('sim-2').sim.addServer({ name: `b${k}`, memoryBytes: size }));
  await waitFor('servers known', async () => (await w.call('ListServers', {})).servers.length === 2 * targets.length, 30_000, 200);
  // Every target but the trial's is kept out of placement.
  const holdOut = async (id: string, out: boolean) =>
    w.coordinator.store.hosts.mutate(id, (h) => ({ ...h, maintenance: out ? 'entering' : 'none', maintenanceOpId: out ? 'held-out' : '' }));
  // sim-2 (B's source) too: a goes to the trial's target.
  for (const id of ['sim-2', ...targets]) await holdOut(id, true);

  // The two events ordered: a's completion write waits for B's snapshot; a's attempt goes on (its hold released) when B's read lets it.
  const servers = w.coordinator.store.servers;
  const inventory = w.coordinator.inventory;
  const realMutate = servers.mutate.bind(servers);
  const realZoneSnapshot = inventory.zoneSnapshot.bind(inventory);
  let trial: {
    a: string;
    target: string;
    offset: number;
    snapshotTaken: Gate;
    written: Gate;
    release: Gate;
    entered: boolean;
    raced: boolean;
  } | null = null;
  servers.mutate = async (key, fn, signal) => {
    const cur = trial;
    if (!cur || key !== cur.a || cur.entered) return realMutate(key, fn, signal);
    const now = await servers.get(key);
    const out = now ? fn(structuredClone(now.value)) : undefined;
    if (!out || out.hostId !== cur.target) return realMutate(key, fn, signal);
    cur.entered = true;
    await cur.snapshotTaken.promise;
    const r = await realMutate(key, fn, signal);
    cur.written.resolve();
    await cur.release.promise;
    return r;
  };
  // The completion write goes through mutateFrom (CAS from the inventory's copy): routed through the gated mutate for the trial's server.
  const realMutateFrom = servers.mutateFrom.bind(servers);
  servers.mutateFrom = async (known, key, fn, signal) => (trial && key === trial.a ? servers.mutate(key, fn, signal) : realMutateFrom(known, key, fn, signal));
  inventory.zoneSnapshot = async (sourceHostId, signal) => {
    const cur = trial;
    if (!cur || !cur.entered || cur.raced || sourceHostId !== 'sim-2') return realZoneSnapshot(sourceHostId, signal);
    cur.raced = true;
    const read = await realZoneSnapshot(sourceHostId, signal);
    cur.snapshotTaken.resolve();
    await cur.written.promise;
    if (cur.offset >= 0) {
      cur.release.resolve();
      await ticks(cur.offset);
    } else {
      void ticks(-cur.offset).then(() => cur.release.resolve());
    }
    return read;
  };
  t.teardown(() => {
    trial?.snapshotTaken.resolve();
    trial?.written.resolve();
    trial?.release.resolve();
  });

  for (const [k, offset] of OFFSETS.entries()) {
    const target = targets[k]!;
    const a = as[k]!;
    const b = bs[k]!;
    await holdOut(target, false);
    await waitFor(
      `${target} reports its memory`,
      async () => Number((await w.call('ListHosts', {})).hosts.find((h: any) => h.id === target)?.memory_free_bytes ?? 0) === size + RESERVE,
      20_000,
      100,
    );
    w.sims.byId(target).sim.faults.setLatency(20_000);
    trial = {
      a: a.uuid,
      target,
      offset,
      snapshotTaken: gate(),
      written: gate(),
      release: gate(),
      entered: false,
      raced: false,
    };
    const opA = `op-race-a${k}`;
    await w.coordinator.store.hosts.mutate('sim-1', (h) => ({ ...h, maintenance: 'entering', maintenanceOpId: opA }));
    await w.maintenance.ops().create(
      drainRecord(opA, [stepRecord(0, { serverUuid: a.uuid, serverName: a.name, sourceHostId: 'sim-1', memoryBytes: size, vcpus: a.vcpus })], {
        hostId: 'sim-1',
        zoneId: 'z1',
      }),
      'drain A (test)',
    );
    w.maintenance.engine().kick();
    const cur = trial;
    await waitFor(`a${k}'s completion write reached`, () => cur.entered, 30_000, 10).catch(async (err) => {
      t.log(JSON.stringify(await w.call('GetOperation', { operation_id: opA })).slice(0, 3000));
      throw err;
    });

    const opB = `op-race-b${k}`;
    await w.coordinator.store.hosts.mutate('sim-2', (h) => ({ ...h, maintenance: 'entering', maintenanceOpId: opB }));
    await w.maintenance.ops().create(
      drainRecord(opB, [stepRecord(0, { serverUuid: b.uuid, serverName: b.name, sourceHostId: 'sim-2', memoryBytes: size, vcpus: b.vcpus })], {
        hostId: 'sim-2',
        zoneId: 'z1',
      }),
      'drain B (test)',
    );
    w.maintenance.engine().kick();
    const decided = await waitFor(
      `b${k} placed or failed`,
      async () => {
        const op = await w.call('GetOperation', { operation_id: opB });
        const s = op.steps[0];
        return ENDED.includes(op.state) || s.phase !== 'STEP_PHASE_PENDING' ? { target: s.target_host_id as string, said: `${op.state}: ${op.reason}` } : null;
      },
      30_000,
      20,
    );
    t.true(cur.raced, `offset ${offset}: B's snapshot was read while a${k}'s completion write waited`);
    t.not(decided.target, target, `offset ${offset}: b${k} is not placed on ${target}, full with a${k} (${decided.said})`);
    const doneA = await waitForOperation(w, opA, ENDED, 60_000);
    t.is(doneA.state, 'OPERATION_STATE_SUCCEEDED', doneA.reason);
    trial = null;
    await w.call('CancelOperation', { operation_id: opB }).catch(() => undefined);
    await waitForOperation(w, opB, ENDED, 60_000);
    w.sims.byId(target).sim.faults.setLatency(0);
    await holdOut(target, true);
  }
});
