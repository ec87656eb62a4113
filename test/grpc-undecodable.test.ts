// Request bytes that do not decode as the method's request type get
// INVALID_ARGUMENT (grpc-js alone answers INTERNAL), run no handler and
// change nothing: the admin API of a real coordinator (real NATS) and a real
// agent's gRPC server, both on port 0, called by a raw grpc-js client that
// sends the bytes as they are.
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NatsNode } from '../common/nats-server.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { startCoordinator, type Coordinator } from '../coordinator/coordinator.ts';
import { hashTokenSha256 } from '../coordinator/auth/tokens.ts';
import { TestAdminClient, tempDir, testConfig } from '../harness/coordinator-helpers.ts';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { ERROR_KIND_METADATA } from '../common/grpc-status.ts';
import { adminPackageDefinition, agentPackageDefinition } from '../common/proto.ts';

const TOKEN = 'undecodable-test-token';

interface Ctx {
  dir: string;
  node: NatsNode;
  coord: Coordinator;
  admin: TestAdminClient;
  agents: SimAgents;
}
const test = anyTest.serial as TestFn<Ctx>;

test.before(async (t) => {
  const dir = tempDir('undecodable');
  const ctx = { dir } as Partial<Ctx>;
  t.context = ctx as Ctx;
  const tokenFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, `users:\n  ops: { tokenSha256: "${hashTokenSha256(TOKEN)}", roles: [admin] }\n`);
  const tn = await startTestNats({ dir });
  ctx.node = tn.node;
  ctx.coord = await startCoordinator(testConfig({ id: 'coord-undecodable', natsServers: [tn.node.url], natsAuth: tn.coordinatorAuth, tokenFile }));
  ctx.admin = new TestAdminClient(ctx.coord.port);
  ctx.agents = await startSimAgents({ count: 1 });
});

test.after.always(async (t) => {
  t.context.admin?.close();
  await t.context.agents?.stop();
  await t.context.coord?.stop();
  await t.context.node?.stop();
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

// Bytes protobuf cannot read (each checked to throw in the request types' own deserializer):
// field 15 with wire type 7 (there is none), and field 1's length cut off mid-varint.
const GARBAGE: Record<string, Buffer> = {
  'bad wire type': Buffer.from([0x7f, 0x00]),
  'truncated length': Buffer.from([0x0a, 0x80]),
};

interface Status {
  code: number;
  details: string;
  kind: string;
}

const identity = (b: Buffer) => b;

test("the garbage is garbage: the request types' deserializers throw on it (what grpc-js alone answers INTERNAL)", (t) => {
  const admin = adminPackageDefinition()['drydock.admin.v1.Admin'] as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>;
  const agent = agentPackageDefinition()['drydock.agent.v1.Agent'] as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>;
  for (const bytes of Object.values(GARBAGE)) {
    for (const def of [admin.GetHost!, admin.CreateZone!, admin.WatchOperation!, agent.ListServers!, agent.StopServer!, agent.MigrateServer!]) {
      t.throws(() => def.requestDeserialize(bytes), undefined, def.path);
    }
  }
});

function statusOf(err: grpc.ServiceError | null): Status {
  if (!err) return { code: grpc.status.OK, details: '', kind: '' };
  return { code: err.code, details: err.details, kind: err.metadata?.get(ERROR_KIND_METADATA)?.[0]?.toString() ?? '' };
}

/** One unary call with raw request bytes. */
function rawUnary(address: string, method: string, bytes: Buffer, md = new grpc.Metadata()): Promise<Status> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Status>((resolve) => {
    client.makeUnaryRequest(method, identity, identity, bytes, md, { deadline: Date.now() + 10_000 }, (err) => resolve(statusOf(err)));
  }).finally(() => client.close());
}

/** One server-streaming call with raw request bytes: its final status. */
function rawStream(address: string, method: string, bytes: Buffer, md = new grpc.Metadata()): Promise<Status & { messages: number }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Status & { messages: number }>((resolve) => {
    let messages = 0;
    const call = client.makeServerStreamRequest(method, identity, identity, bytes, md, { deadline: Date.now() + 10_000 });
    call.on('data', () => messages++);
    call.on('error', (err: grpc.ServiceError) => resolve({ ...statusOf(err), messages }));
    call.on('end', () => resolve({ ...statusOf(null), messages }));
  }).finally(() => client.close());
}

const bearer = () => {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  return md;
};

test('admin API: undecodable bytes are INVALID_ARGUMENT (unary, mutating, streaming), and nothing changes', async (t) => {
  const address = `127.0.0.1:${t.context.coord.port}`;
  for (const [what, bytes] of Object.entries(GARBAGE)) {
    const read = await rawUnary(address, '/drydock.admin.v1.Admin/GetHost', bytes, bearer());
    t.is(read.code, grpc.status.INVALID_ARGUMENT, `${what}: ${read.details}`);
    t.regex(read.details, /request: does not decode as the request of \/drydock\.admin\.v1\.Admin\/GetHost/);
    t.is(read.kind, 'InvalidArgumentError');
    const write = await rawUnary(address, '/drydock.admin.v1.Admin/CreateZone', bytes, bearer());
    t.is(write.code, grpc.status.INVALID_ARGUMENT, `${what}: ${write.details}`);
    const watch = await rawStream(address, '/drydock.admin.v1.Admin/WatchOperation', bytes, bearer());
    t.is(watch.code, grpc.status.INVALID_ARGUMENT, `${what}: ${watch.details}`);
    t.is(watch.messages, 0);
    // Without credentials too: the bytes are refused before anything else looks at them.
    t.is((await rawUnary(address, '/drydock.admin.v1.Admin/CreateZone', bytes)).code, grpc.status.INVALID_ARGUMENT);
  }
  t.deepEqual((await t.context.admin.call('ListZones', {}, { token: TOKEN })).zones, [], 'no zone was created');
  // Well-formed bytes still reach the handlers (an empty message is a valid GetHost request: host_id missing).
  const empty = await rawUnary(address, '/drydock.admin.v1.Admin/GetHost', Buffer.alloc(0), bearer());
  t.is(empty.code, grpc.status.INVALID_ARGUMENT);
  t.regex(empty.details, /host_id/);
  t.is((await rawUnary(address, '/drydock.admin.v1.Admin/GetHost', Buffer.alloc(0))).code, grpc.status.UNAUTHENTICATED);
});

test('agent API: undecodable bytes are INVALID_ARGUMENT (unary and the MigrateServer stream), and nothing moves', async (t) => {
  const agent = t.context.agents.agents[0]!;
  const vs = agent.sim.addServer({ name: 'stays' });
  for (const [what, bytes] of Object.entries(GARBAGE)) {
    const list = await rawUnary(agent.endpoint, '/drydock.agent.v1.Agent/ListServers', bytes);
    t.is(list.code, grpc.status.INVALID_ARGUMENT, `${what}: ${list.details}`);
    t.regex(list.details, /does not decode as the request of \/drydock\.agent\.v1\.Agent\/ListServers/);
    const stop = await rawUnary(agent.endpoint, '/drydock.agent.v1.Agent/StopServer', bytes);
    t.is(stop.code, grpc.status.INVALID_ARGUMENT, `${what}: ${stop.details}`);
    const move = await rawStream(agent.endpoint, '/drydock.agent.v1.Agent/MigrateServer', bytes);
    t.is(move.code, grpc.status.INVALID_ARGUMENT, `${what}: ${move.details}`);
    t.is(move.messages, 0);
  }
  t.is(agent.sim.servers().find((s) => s.uuid === vs.uuid)?.state, 'SERVER_STATE_RUNNING');
  t.is(agent.sim.counters.shutdowns + agent.sim.counters.destroys + agent.sim.counters.migrationsStarted, 0);
  t.is((await rawUnary(agent.endpoint, '/drydock.agent.v1.Agent/ListServers', Buffer.alloc(0))).code, grpc.status.OK, 'valid bytes still served');
});
