// ListOperations in pages (no request per operation) and WatchOperation's
// stream limits, over a real coordinator (real gRPC, real nats-server).
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { startWorld, ADMIN_TOKEN, type World } from '../harness/maintenance-world.ts';
import { waitFor } from '../harness/coordinator-helpers.ts';
import type { OperationRecord } from '../coordinator/operations/types.ts';
import { listAllOperations } from '../cli/pages.ts';
import type { AdminApi } from '../cli/client.ts';

interface Ctx {
  w: World;
  /** Seeded operations, newest first. */
  seeded: OperationRecord[];
  paused: OperationRecord;
}
const test = anyTest as TestFn<Ctx>;

function operation(i: number, hostId: string, over: Partial<OperationRecord> = {}): OperationRecord {
  const at = 1_700_000_000_000 + i * 1000;
  return {
    // Ids sort by creation time, as the service makes them.
    id: `op-${at.toString(36)}-${String(i).padStart(8, '0')}`,
    kind: 'enable_maintenance',
    hostId,
    zoneId: '',
    storageCluster: '',
    state: 'succeeded',
    reason: `seeded ${i}`,
    stage: '',
    steps: [],
    stopUnmigratable: false,
    requestedBy: 'test',
    createdAtMs: at,
    updatedAtMs: at,
    finishedAtMs: at + 500,
    movedAway: [{ serverUuid: '22222222-0000-4000-8000-000000000001', serverName: 'vm', toHostId: 'sim-2', wasRunning: true }],
    cancelRequested: false,
    cancelReason: '',
    previousIncarnation: '',
    previousBootId: '',
    skipReboot: false,
    stageSinceMs: at,
    sourceOperationId: '',
    history: [],
    ...over,
  };
}

test.before(async (t) => {
  const w = await startWorld({ hosts: 2, maintenance: { watchLimits: { maxPerCaller: 2, maxTotal: 3 } } });
  const ops = w.maintenance.ops();
  const seeded: OperationRecord[] = [];
  for (let i = 0; i < 25; i++) seeded.push(await ops.create(operation(i, i % 5 === 0 ? 'sim-2' : 'sim-1'), 'seeded'));
  // Paused: the engine leaves it waiting for the operator, so its watches stay open.
  const paused = await ops.create(operation(25, 'sim-1', { state: 'paused', finishedAtMs: 0, reason: 'waiting for the operator' }), 'paused');
  seeded.push(paused);
  seeded.reverse();
  t.context = { w, seeded, paused };
});

test.after.always(async (t) => {
  await t.context.w?.close();
});

test.serial('ListOperations pages newest first without steps, with no per-operation event lookup; bad tokens and sizes are refused', async (t) => {
  const { w, seeded } = t.context;
  const events = w.maintenance.ops().events;
  let lookups = 0;
  const lastSeq = events.lastSeq.bind(events);
  events.lastSeq = (id: string) => {
    lookups++;
    return lastSeq(id);
  };
  t.teardown(() => {
    events.lastSeq = lastSeq;
  });
  const got: any[] = [];
  let token = '';
  let pages = 0;
  do {
    const res = await w.call('ListOperations', { page_size: 7, page_token: token });
    t.true(res.operations.length <= 7);
    got.push(...res.operations);
    token = res.next_page_token;
    pages++;
  } while (token && pages < 20);
  const ids = got.map((o) => o.id).filter((id) => seeded.some((s) => s.id === id));
  t.deepEqual(
    ids,
    seeded.map((s) => s.id),
    'every operation once, newest first',
  );
  t.true(pages >= 4);
  t.is(lookups, 0, 'no event lookup per listed operation');
  const first = got.find((o) => o.id === seeded[1]!.id);
  t.deepEqual(first.steps, []);
  t.deepEqual(first.moved_away, [], 'a list entry is brief');
  // Filters: host, active only, limit (one page, no token).
  const sim2 = await w.call('ListOperations', { host_id: 'sim-2', page_size: 3 });
  t.true(sim2.operations.every((o: any) => o.host_id === 'sim-2'));
  t.is(sim2.operations.length, 3);
  t.truthy(sim2.next_page_token);
  const active = await w.call('ListOperations', { active_only: true });
  t.deepEqual(
    active.operations.map((o: any) => o.id),
    [t.context.paused.id],
  );
  const limited = await w.call('ListOperations', { limit: 4 });
  t.is(limited.operations.length, 4);
  t.is(limited.next_page_token, '');
  // The CLI's listing follows the pages to the end.
  const api = { call: (m: string, r: object) => w.call(m, r) } as unknown as AdminApi;
  const all = await listAllOperations(api, { host_id: 'sim-1', active_only: false, limit: 0 });
  t.deepEqual(
    all.operations.map((o) => o.id),
    seeded.filter((s) => s.hostId === 'sim-1').map((s) => s.id),
  );
  // Refusals.
  const code = async (req: object) => w.admin.code('ListOperations', req, { token: ADMIN_TOKEN });
  t.is(await code({ page_size: 5000 }), grpc.status.INVALID_ARGUMENT);
  t.is(await code({ page_token: 'not-a-token' }), grpc.status.INVALID_ARGUMENT);
  t.is(await code({ host_id: 'sim-2', page_token: sim2.next_page_token }), grpc.status.OK);
  t.is(await code({ host_id: 'sim-1', page_token: sim2.next_page_token }), grpc.status.INVALID_ARGUMENT, 'a token of other filters');
});

test.serial('WatchOperation streams are limited per caller and in total (RESOURCE_EXHAUSTED), and end when the coordinator stops', async (t) => {
  const { w, paused } = t.context;
  const watch = () => w.admin.stream('WatchOperation', { operation_id: paused.id }, { token: ADMIN_TOKEN, timeoutMs: 60_000 });
  const open = [watch(), watch()];
  for (const p of open) p.catch(() => undefined);
  await waitFor('two watches open', () => w.maintenance.watches().open() === 2, 10_000, 50);
  const third = await t.throwsAsync<grpc.ServiceError>(watch());
  t.is(third!.code, grpc.status.RESOURCE_EXHAUSTED);
  t.regex(third!.details, /already has 2 WatchOperation streams open.*maxWatchesPerCaller is 2/);
  t.is(w.maintenance.watches().open(), 2, 'the refused stream took no slot');
  // Stopping the coordinator ends the open streams at once with UNAVAILABLE.
  const started = Date.now();
  await w.coordinator.stop();
  for (const p of open) {
    const err = await t.throwsAsync<grpc.ServiceError>(p);
    t.is(err!.code, grpc.status.UNAVAILABLE, err!.details);
  }
  t.true(Date.now() - started < 2900, 'the shutdown did not wait for the admin server grace period');
  t.is(w.maintenance.watches().open(), 0);
});
