// The operation follower's views, with the CLI run as a subprocess: the
// cli-progress bars on a pseudo-terminal (python3's pty module, no shell),
// one line per event on a pipe, NDJSON with --json, and Ctrl-C detaching
// without cancelling. The event stream comes from a scripted Admin server
// (GetOperation, WatchOperation, CancelOperation only) so every frame is
// known; test/cli.test.ts runs the same views against a real coordinator.
import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminPackageDefinition, loadAdminProto } from '../common/proto.ts';
import { startGrpcServer, type ServingServer } from '../common/grpc-server.ts';
import type { Operation } from '../common/generated/drydock/admin/v1/Operation.ts';
import type { OperationEvent__Input } from '../common/generated/drydock/admin/v1/OperationEvent.ts';
import type { ServerStep } from '../common/generated/drydock/admin/v1/ServerStep.ts';
import { DRYDOCK, drydockPipe, drydockTty, screen as lastScreen } from './cli-pty.ts';

const GiB = 1024 ** 3;

/** The CLI on a pipe. */
const drydock = (args: string[]) => drydockPipe(args, process.env);
/** The CLI on a pseudo-terminal (stderr goes to the same terminal). */
const drydockOnTty = (marker: string, args: string[], rows = 40, columns = 160) => drydockTty(args, process.env, { interruptOn: marker, rows, columns });

// ------------------------------------------------------------ scripted server

function step(uuid: string, name: string, over: Partial<ServerStep> = {}): ServerStep {
  return {
    server_uuid: uuid,
    server_name: name,
    action: 'SERVER_ACTION_LIVE_MIGRATE',
    phase: 'STEP_PHASE_PENDING',
    source_host_id: 'h1',
    target_host_id: '',
    migration_id: '',
    attempt: 0,
    tried_targets: [],
    percent: 0,
    bytes_processed: 0,
    bytes_total: 0,
    bandwidth_bps: 0,
    eta_seconds: 0,
    was_running: true,
    error: '',
    started_at_ms: 0,
    finished_at_ms: 0,
    reason: '',
    guest_health: 'STEP_GUEST_HEALTH_UNSPECIFIED',
    guest_health_detail: '',
    ...over,
  };
}

const SERVERS: Array<[string, string, string]> = [
  ['11111111-0000-4000-8000-000000000001', 'web-1', 'h2'],
  ['11111111-0000-4000-8000-000000000002', 'db-1', 'h3'],
  ['11111111-0000-4000-8000-000000000003', 'cache-1', 'h2'],
];

/** A drain bigger than a small terminal. */
const MANY: Array<[string, string, string]> = Array.from({ length: 12 }, (_, i) => [
  `22222222-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
  `vm-${String(i + 1).padStart(2, '0')}`,
  i % 2 ? 'h3' : 'h2',
]);

const serversOf = (id: string) => (id === 'op-many' ? MANY : SERVERS);

function operation(id: string): Operation {
  return {
    id,
    kind: 'OPERATION_KIND_ENABLE_MAINTENANCE',
    host_id: 'h1',
    state: 'OPERATION_STATE_RUNNING',
    reason: '',
    steps: serversOf(id).map(([u, n]) => step(u, n)),
    done: 0,
    total: serversOf(id).length,
    stop_unmigratable: false,
    requested_by: 'test',
    created_at_ms: Date.now(),
    updated_at_ms: Date.now(),
    finished_at_ms: 0,
    moved_away: [],
    stage: '',
    last_event_seq: 0,
    archived_at_ms: 0,
  };
}

/** The events of a 3-server drain: per server migrating, 3 progress ticks, done; then succeeded. */
function drainEvents(id: string, finish: boolean): OperationEvent__Input[] {
  const out: OperationEvent__Input[] = [];
  let seq = 1;
  const t0 = Date.now();
  const servers = serversOf(id);
  servers.forEach(([uuid, name, target], i) => {
    const base = { server_uuid: uuid, server_name: name, target_host_id: target, started_at_ms: t0 + i * 1000 };
    out.push({
      operation_id: id,
      seq: seq++,
      type: 'step',
      step: step(uuid, name, { ...base, phase: 'STEP_PHASE_MIGRATING', attempt: 1, bytes_total: 2 * GiB }),
    });
    for (const pct of [25, 50, 75]) {
      out.push({
        operation_id: id,
        seq: seq++,
        type: 'progress',
        step: step(uuid, name, {
          ...base,
          phase: 'STEP_PHASE_MIGRATING',
          attempt: 1,
          percent: pct,
          bytes_processed: (pct / 100) * 2 * GiB,
          bytes_total: 2 * GiB,
          bandwidth_bps: 200 * 1024 ** 2,
          eta_seconds: (100 - pct) / 10,
        }),
      });
    }
    out.push({
      operation_id: id,
      seq: seq++,
      type: 'step',
      done: i + 1,
      total: servers.length,
      step: step(uuid, name, {
        ...base,
        phase: 'STEP_PHASE_DONE',
        percent: 100,
        bytes_processed: 2 * GiB,
        bytes_total: 2 * GiB,
        finished_at_ms: t0 + i * 1000 + 900,
      }),
    });
  });
  out.push({ operation_id: id, seq: seq++, type: 'message', message: 'all servers moved; host h1 is in maintenance' });
  if (finish) out.push({ operation_id: id, seq: seq++, type: 'state', state: 'OPERATION_STATE_SUCCEEDED', done: servers.length, total: servers.length });
  return out.map((e) => ({ at_ms: Date.now(), ...e }));
}

interface Scripted {
  server: ServingServer;
  address: string;
  cancelCalls: string[];
  /** Watch streams the client went away from, by operation id. */
  watchCancelled: Map<string, number>;
}

/** op-done streams a whole drain and ends; op-hang* streams one server's start and stays open. */
async function startScriptedAdmin(): Promise<Scripted> {
  const state: Omit<Scripted, 'server' | 'address'> = { cancelCalls: [], watchCancelled: new Map() };
  const known = (id: string) => id === 'op-done' || id === 'op-many' || id.startsWith('op-hang');
  const notFound = (id: string) => ({ code: grpc.status.NOT_FOUND, details: `operation ${JSON.stringify(id)} not found` });
  const server = await startGrpcServer({
    address: '127.0.0.1:0',
    credentials: grpc.ServerCredentials.createInsecure(),
    packageDefinition: adminPackageDefinition(),
    serviceName: 'drydock.admin.v1.Admin',
    service: loadAdminProto().drydock.admin.v1.Admin.service,
    implementation: {
      GetOperation: (call: grpc.ServerUnaryCall<{ operation_id: string }, Operation>, cb: grpc.sendUnaryData<Operation>) => {
        const id = call.request.operation_id;
        if (!known(id)) return cb(notFound(id));
        cb(null, operation(id));
      },
      CancelOperation: (call: grpc.ServerUnaryCall<{ operation_id: string }, Operation>, cb: grpc.sendUnaryData<Operation>) => {
        state.cancelCalls.push(call.request.operation_id);
        cb(null, { ...operation(call.request.operation_id), state: 'OPERATION_STATE_CANCELLED' });
      },
      WatchOperation: async (call: grpc.ServerWritableStream<{ operation_id: string; from_seq: number }, OperationEvent__Input>) => {
        const id = call.request.operation_id;
        let cancelled = false;
        call.on('cancelled', () => {
          cancelled = true;
          state.watchCancelled.set(id, (state.watchCancelled.get(id) ?? 0) + 1);
        });
        const events = id.startsWith('op-hang') ? drainEvents(id, false).slice(0, 3) : drainEvents(id, true);
        for (const ev of events) {
          if (cancelled) return;
          if (Number(ev.seq) < call.request.from_seq) continue;
          call.write(ev);
          await sleep(id === 'op-many' ? 15 : 60);
        }
        if (id.startsWith('op-hang')) {
          // Stays open like a running operation until the client goes away.
          while (!cancelled) await sleep(50);
          return;
        }
        call.end();
      },
    },
  });
  return Object.assign(state, { server, address: `127.0.0.1:${server.port}` }) as Scripted;
}

const test = anyTest as TestFn<{ admin: Scripted }>;

test.before(async (t) => {
  t.context.admin = await startScriptedAdmin();
});

test.after.always(async (t) => {
  await t.context.admin?.server.close(500);
});

test('ops watch on a terminal draws a bar per server and an overall bar, then the summary', async (t) => {
  const r = await drydockOnTty('', ['--address', t.context.admin.address, 'ops', 'watch', 'op-done']);
  t.is(r.code, 0, r.stdout);
  const screen = r.stdout;
  for (const [, name, target] of SERVERS) {
    t.true(screen.includes(name), `bar for ${name}`);
    t.true(screen.includes(`-> ${target}`), `target of ${name}`);
  }
  t.regex(screen, /^operation op-done: enable-maintenance of h1 \(Ctrl-C detaches; it goes on\)\r?\n/);
  t.regex(screen, /overall/);
  t.regex(screen, /█/, 'cli-progress bar glyphs');
  t.regex(screen, /\d\/3 servers/);
  t.regex(screen, /eta \d/);
  t.regex(screen, /web-1 +live -> h2 /);
  t.regex(screen, /GiB\/2 GiB/);
  t.regex(screen, /3\/3 servers/);
  t.regex(screen, /all servers moved; host h1 is in maintenance/, 'message events are logged above the bars');
  t.regex(screen, /operation op-done succeeded: enable-maintenance of h1, 3\/3 servers done/);
  // cli-progress redraws in place with cursor movement, and restores the cursor.
  t.regex(screen, /\x1b\[/);
  t.regex(screen, /\x1b\[\?25h/, 'cursor shown again at the end');
  // The last frame: the overall bar full, one full bar per server, the summary under them.
  const frame = lastScreen(r.stdout).trimEnd().split('\n');
  t.regex(
    frame.find((l) => l.includes('overall'))!,
    /100% 3\/3 servers {2}eta 0s {2}succeeded/,
  );
  for (const [, name, target] of SERVERS)
    t.regex(
      frame.find((l) => l.includes(` ${name} `))!,
      new RegExp(`live -> ${target} +\\|█+\\| 100% done {2}2 GiB/2 GiB`),
    );
  t.regex(frame.at(-1)!, /^operation op-done succeeded/);
});

test('ops watch on a pipe prints one line per event', async (t) => {
  const r = await drydock(['--address', t.context.admin.address, 'ops', 'watch', 'op-done']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.false(r.stdout.includes('\x1b['), 'no escape codes on a pipe');
  t.regex(lines[0]!, /^following enable-maintenance of h1: operation op-done, running$/);
  t.is(lines.filter((l) => / progress web-1 live-migrate h1 -> h2 migrating /.test(l)).length, 3);
  t.truthy(lines.find((l) => / step db-1 live-migrate h1 -> h3 done 100% 2 GiB\/2 GiB/.test(l)));
  t.truthy(lines.find((l) => / state succeeded \(3\/3 done\)/.test(l)));
  t.regex(lines[lines.length - 1]!, /^operation op-done succeeded/);
  // 3 servers x 5 events + message + state, plus the header and the summary.
  t.is(lines.length, 3 * 5 + 2 + 2);
});

test('ops watch --json prints the events as JSON lines', async (t) => {
  const r = await drydock(['--address', t.context.admin.address, '--json', 'ops', 'watch', 'op-done']);
  t.is(r.code, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { seq: number; type: string; state: string });
  t.is(events.length, 17);
  t.deepEqual(
    events.map((e) => e.seq),
    Array.from({ length: 17 }, (_, i) => i + 1),
  );
  t.is(events.at(-1)!.state, 'OPERATION_STATE_SUCCEEDED');
});

test('Ctrl-C on a terminal detaches without cancelling and says how to re-attach', async (t) => {
  const r = await drydockOnTty('web-1', ['--address', t.context.admin.address, 'ops', 'watch', 'op-hang-tty']);
  t.is(r.code, 130, r.stdout);
  t.regex(r.stdout, /detached from operation op-hang-tty; it continues/);
  t.regex(r.stdout, /re-attach: drydock ops watch op-hang-tty/);
  t.regex(r.stdout, /cancel: drydock ops cancel op-hang-tty/);
  t.regex(r.stdout, /\x1b\[\?25h/, 'cursor restored after detaching');
  t.deepEqual(t.context.admin.cancelCalls, [], 'detaching never cancels the operation');
  // The server saw the stream go away (no watcher left behind).
  for (let i = 0; i < 40 && !t.context.admin.watchCancelled.get('op-hang-tty'); i++) await sleep(50);
  t.is(t.context.admin.watchCancelled.get('op-hang-tty'), 1);
});

test('SIGINT on a pipe detaches the same way (exit 130)', async (t) => {
  const child = spawn(process.execPath, [DRYDOCK, '--address', t.context.admin.address, 'ops', 'watch', 'op-hang-pipe'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  });
  // Waiting for the CLI to start and print (node + tsx: seconds on a busy
  // 2-core machine; 10 s was missed under load), not a speed claim.
  for (let i = 0; i < 1200 && !out.includes('progress web-1') && child.exitCode === null; i++) await sleep(50);
  t.true(out.includes('progress web-1'), out);
  child.kill('SIGINT');
  t.is(await exited, 130);
  t.regex(err, /re-attach: drydock ops watch op-hang-pipe/);
  t.deepEqual(t.context.admin.cancelCalls, []);
});

test('ops watch of an unknown operation: one line, exit 4', async (t) => {
  const r = await drydock(['--address', t.context.admin.address, 'ops', 'watch', 'op-nope']);
  t.is(r.code, 4);
  t.is(r.stderr, `drydock: operation "op-nope" not found — check the id; 'drydock ops list' lists them\n`);
});

test('a drain larger than the terminal: started servers get bars, finished ones become lines', async (t) => {
  const r = await drydockOnTty('', ['--address', t.context.admin.address, 'ops', 'watch', 'op-many'], 10);
  t.is(r.code, 0, r.stdout);
  // 10 rows leave room for 5 bars: the early finishers were printed as lines.
  // Every server is either a printed line or a bar on the last frame; none is lost.
  const lines = r.stdout.match(/\d\d:\d\d:\d\d vm-\d\d live-migrate -> h\d done\r?\n/g) ?? [];
  t.true(lines.length >= 12 - 5, lines.join(''));
  const lastFrame = r.stdout.slice(r.stdout.lastIndexOf('overall'));
  const barred = MANY.map(([, n]) => n).filter((n) => lastFrame.includes(n));
  const logged = MANY.map(([, n]) => n).filter((n) => lines.some((l) => l.includes(`${n} `)));
  t.deepEqual(
    [...new Set([...logged, ...barred])].sort(),
    MANY.map(([, n]) => n),
  );
  t.regex(r.stdout, /12\/12 servers/);
  t.regex(r.stdout, /operation op-many succeeded: enable-maintenance of h1, 12\/12 servers done/);
});

test('an 80-column terminal: narrower bars, and every line still fits with its ETA', async (t) => {
  const r = await drydockOnTty('', ['--address', t.context.admin.address, 'ops', 'watch', 'op-done'], 24, 80);
  t.is(r.code, 0, r.stdout);
  const frame = lastScreen(r.stdout).trimEnd().split('\n');
  t.true(
    frame.filter((l) => l.includes('|')).every((l) => l.length <= 80),
    frame.join('\n'),
  );
  t.regex(r.stdout, /\| \d+% +migrating {2}[\d.]+ \w+\/2 GiB {2}eta \d+s/, 'phase, bytes and ETA are not cut off');
  t.regex(
    frame.find((l) => l.includes('overall'))!,
    /100% 3\/3 servers {2}eta 0s {2}succeeded/,
  );
});
