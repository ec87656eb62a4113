// The CLI's pure pieces: table layout, human units, the folded operation
// view with its overall ETA, exit-code mapping, settings precedence.
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { enumLabel, formatBytes, formatDuration, formatPercent, formatRelative, formatTimestamp, renderFields, renderTable, wrapWords } from '../cli/table.ts';
import { applyEvent, eventLine, overallEtaSeconds, progressCounts, stepPercent, viewFromOperation } from '../cli/operation-view.ts';
import { describeError, EXIT, CliError } from '../cli/exit.ts';
import { resolveSettings } from '../cli/settings.ts';
import type { Operation } from '../common/generated/drydock/admin/v1/Operation.ts';
import type { ServerStep } from '../common/generated/drydock/admin/v1/ServerStep.ts';
import type { OperationEvent } from '../common/generated/drydock/admin/v1/OperationEvent.ts';
import { hostStatus, hostView, planView, policyFields, zoneCpuView } from '../cli/render.ts';
import type { ZonePolicy } from '../common/generated/drydock/admin/v1/ZonePolicy.ts';
import type { ZoneCpu } from '../common/generated/drydock/admin/v1/ZoneCpu.ts';
import type { Host } from '../common/generated/drydock/admin/v1/Host.ts';
import type { Plan } from '../common/generated/drydock/admin/v1/Plan.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

test('formatBytes: binary units, one decimal below 100, none above', (t) => {
  t.is(formatBytes(0), '0 B');
  t.is(formatBytes(512), '512 B');
  t.is(formatBytes(1023), '1023 B');
  t.is(formatBytes(1024), '1 KiB');
  t.is(formatBytes(1536), '1.5 KiB');
  t.is(formatBytes(1.5 * GiB), '1.5 GiB');
  t.is(formatBytes(512 * MiB), '512 MiB');
  t.is(formatBytes(24 * GiB), '24 GiB');
  t.is(formatBytes(123.4 * GiB), '123 GiB');
  t.is(formatBytes(1024 * 1024 - 1), '1 MiB', 'rounding up to 1024 becomes the next unit');
  t.is(formatBytes(3 * 1024 ** 4), '3 TiB');
  t.is(formatBytes(-1), '?');
  t.is(formatBytes(Number.NaN), '?');
});

test('formatDuration: the two largest units', (t) => {
  t.is(formatDuration(0), '0s');
  t.is(formatDuration(45), '45s');
  t.is(formatDuration(59.6), '1m');
  t.is(formatDuration(60), '1m');
  t.is(formatDuration(125), '2m 5s');
  t.is(formatDuration(3600), '1h');
  t.is(formatDuration(3720), '1h 2m');
  t.is(formatDuration(3 * 86400 + 4 * 3600 + 59), '3d 4h');
  t.is(formatDuration(-1), '?');
});

test('formatRelative: ago, in, never', (t) => {
  const now = 1_700_000_000_000;
  t.is(formatRelative(0, now), 'never');
  t.is(formatRelative(now - 5_000, now), '5s ago');
  t.is(formatRelative(now - 3 * 60_000, now), '3m ago');
  t.is(formatRelative(now + 2 * 3_600_000, now), 'in 2h');
  t.is(formatRelative(now - 200, now), 'just now');
});

test('formatTimestamp, formatPercent, enumLabel', (t) => {
  t.is(formatTimestamp(0), '-');
  t.is(formatTimestamp(Date.UTC(2026, 10, 25, 9, 43, 46, 123)), '2026-11-25 09:43:46Z');
  t.is(formatPercent(45.678), '45.7%');
  t.is(formatPercent(0), '0%');
  t.is(formatPercent(130), '100%');
  t.is(enumLabel('MAINTENANCE_STATE_IN_MAINTENANCE', 'MAINTENANCE_STATE_'), 'in-maintenance');
  t.is(enumLabel('CPU_MODE_UNSPECIFIED', 'CPU_MODE_'), '-');
  t.is(enumLabel('', 'CPU_MODE_'), '-');
});

test('renderTable: headers, widths, numbers right-aligned, empty cells as -', (t) => {
  const rows = [
    { id: 'h1', mem: formatBytes(1.5 * GiB), n: 3, label: '' },
    { id: 'host-long', mem: formatBytes(24 * GiB), n: 12, label: 'rack 4' },
  ];
  const text = renderTable(
    [
      { header: 'id', value: (r: (typeof rows)[number]) => r.id },
      { header: 'memory', value: (r) => r.mem, align: 'right' },
      { header: 'servers', value: (r) => r.n },
      { header: 'label', value: (r) => r.label },
    ],
    rows,
  );
  t.is(text, ['ID          MEMORY  SERVERS  LABEL', 'h1         1.5 GiB        3  -', 'host-long   24 GiB       12  rack 4', ''].join('\n'));
  t.is(renderTable([{ header: 'id', value: (r: { id: string }) => r.id }], []), 'ID\n', 'no rows: headers only');
});

test('renderFields aligns values and indents continuation lines', (t) => {
  t.is(
    renderFields([
      ['ID', 'h1'],
      ['Storage cluster', ''],
      ['Flags', 'a b\nc d'],
    ]),
    'ID:               h1\nStorage cluster:  -\nFlags:            a b\n                  c d\n',
  );
});

test('wrapWords wraps at the width', (t) => {
  t.is(wrapWords(['aaaa', 'bbbb', 'cccc'], 9), 'aaaa bbbb\ncccc');
  t.is(wrapWords([], 10), '');
});

// ------------------------------------------------------------ operation view

function step(over: Partial<ServerStep>): ServerStep {
  return {
    server_uuid: 'u1',
    server_name: 'web-1',
    action: 'SERVER_ACTION_LIVE_MIGRATE',
    phase: 'STEP_PHASE_PENDING',
    source_host_id: 'h1',
    target_host_id: 'h2',
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

function operation(steps: ServerStep[]): Operation {
  return {
    id: 'op1',
    kind: 'OPERATION_KIND_ENABLE_MAINTENANCE',
    host_id: 'h1',
    state: 'OPERATION_STATE_RUNNING',
    reason: '',
    steps,
    done: 0,
    total: steps.length,
    stop_unmigratable: false,
    requested_by: 'test',
    created_at_ms: 1000,
    updated_at_ms: 1000,
    finished_at_ms: 0,
    moved_away: [],
    stage: '',
    last_event_seq: 0,
    archived_at_ms: 0,
  };
}

function event(over: Partial<OperationEvent>): OperationEvent {
  return {
    operation_id: 'op1',
    seq: 1,
    at_ms: Date.UTC(2026, 0, 1, 10, 0, 0),
    type: 'message',
    state: 'OPERATION_STATE_UNSPECIFIED',
    step: null,
    message: '',
    done: 0,
    total: 0,
    stage: '',
    ...over,
  };
}

test('applyEvent folds steps, merges progress, ignores replays', (t) => {
  const view = viewFromOperation(operation([step({}), step({ server_uuid: 'u2', server_name: 'db-1' })]));
  applyEvent(view, event({ seq: 1, type: 'step', step: step({ phase: 'STEP_PHASE_MIGRATING', started_at_ms: 10_000 }) }));
  // A progress event that carries only the moving numbers keeps the names.
  applyEvent(
    view,
    event({
      seq: 2,
      type: 'progress',
      step: step({
        server_name: '',
        target_host_id: '',
        action: 'SERVER_ACTION_UNSPECIFIED',
        phase: 'STEP_PHASE_UNSPECIFIED',
        percent: 40,
        bytes_processed: 400 * MiB,
        bytes_total: GiB,
        eta_seconds: 6,
      }),
    }),
  );
  const s = view.steps.get('u1')!;
  t.is(s.server_name, 'web-1');
  t.is(s.target_host_id, 'h2');
  t.is(s.phase, 'STEP_PHASE_MIGRATING');
  t.is(s.percent, 40);
  t.is(stepPercent(s), 40);
  // Replay of seq 1 must not roll progress back.
  applyEvent(view, event({ seq: 1, type: 'step', step: step({ phase: 'STEP_PHASE_MIGRATING' }) }));
  t.is(view.steps.get('u1')!.percent, 40);
  applyEvent(view, event({ seq: 3, type: 'state', state: 'OPERATION_STATE_SUCCEEDED', done: 2, total: 2 }));
  t.is(view.state, 'OPERATION_STATE_SUCCEEDED');
  t.deepEqual(progressCounts(view), { done: 2, total: 2 });
});

test('eventLine: one greppable line per event', (t) => {
  const view = viewFromOperation(operation([step({})]));
  const ev = event({
    seq: 1,
    type: 'progress',
    step: step({ phase: 'STEP_PHASE_MIGRATING', percent: 45.2, bytes_processed: 1.2 * GiB, bytes_total: 2 * GiB, bandwidth_bps: 100 * MiB, eta_seconds: 9 }),
  });
  applyEvent(view, ev);
  t.is(eventLine(view, ev), '10:00:00 progress web-1 live-migrate h1 -> h2 migrating 45.2% 1.2 GiB/2 GiB 100 MiB/s eta 9s');
  const st = event({ seq: 2, type: 'state', state: 'OPERATION_STATE_PAUSED', message: 'no target for db-1' });
  applyEvent(view, st);
  t.is(eventLine(view, st), '10:00:00 state paused (0/1 done, no target for db-1)');
});

test('overallEtaSeconds: finished steps set the pace for pending ones', (t) => {
  const now = 100_000;
  const view = viewFromOperation(
    operation([
      step({ server_uuid: 'a', phase: 'STEP_PHASE_DONE', started_at_ms: 0, finished_at_ms: 20_000 }),
      step({ server_uuid: 'b', phase: 'STEP_PHASE_MIGRATING', started_at_ms: 90_000, eta_seconds: 10 }),
      step({ server_uuid: 'c' }),
      step({ server_uuid: 'd' }),
    ]),
  );
  t.is(overallEtaSeconds(view, now), 10 + 2 * 20);
  // Nothing finished yet: the active step's elapsed + eta stands in.
  const early = viewFromOperation(
    operation([step({ server_uuid: 'b', phase: 'STEP_PHASE_MIGRATING', started_at_ms: 95_000, eta_seconds: 5 }), step({ server_uuid: 'c' })]),
  );
  t.is(overallEtaSeconds(early, now), 5 + 10);
  // No basis at all.
  t.is(overallEtaSeconds(viewFromOperation(operation([step({ server_uuid: 'c' })])), now), undefined);
  const done = viewFromOperation({ ...operation([]), state: 'OPERATION_STATE_SUCCEEDED' });
  t.is(overallEtaSeconds(done, now), 0);
});

// ------------------------------------------------------------ errors

function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

test('describeError maps gRPC codes to one line and an exit code', (t) => {
  const ctx = { address: '127.0.0.1:7443', timeoutMs: 30_000, listHint: 'drydock hosts' };
  const nf = describeError(grpcError(grpc.status.NOT_FOUND, 'host "h9" not found'), ctx);
  t.is(nf.exitCode, EXIT.NOT_FOUND);
  t.is(nf.line, `drydock: host "h9" not found — check the id; 'drydock hosts' lists them`);
  t.is(describeError(grpcError(grpc.status.UNAUTHENTICATED, 'bad token'), ctx).exitCode, EXIT.AUTH);
  t.is(describeError(grpcError(grpc.status.PERMISSION_DENIED, 'x lacks'), ctx).exitCode, EXIT.AUTH);
  t.is(describeError(grpcError(grpc.status.FAILED_PRECONDITION, 'cannot move:\n  a\n  b'), ctx).line.includes('\n'), false);
  t.is(describeError(grpcError(grpc.status.FAILED_PRECONDITION, 'x'), ctx).exitCode, EXIT.REFUSED);
  t.is(describeError(grpcError(grpc.status.INVALID_ARGUMENT, 'zone_id: bad'), ctx).exitCode, EXIT.USAGE);
  const un = describeError(grpcError(grpc.status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7443.'), ctx);
  t.is(un.exitCode, EXIT.UNAVAILABLE);
  t.regex(un.line, /^drydock: cannot reach the coordinator at 127\.0\.0\.1:7443 \(ECONNREFUSED\) — /);
  t.is(describeError(grpcError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'), ctx).exitCode, EXIT.UNAVAILABLE);
  t.is(describeError(grpcError(grpc.status.INTERNAL, 'boom'), ctx).exitCode, EXIT.SERVER_ERROR);
  t.is(describeError(new CliError('no', 'do this', EXIT.REFUSED), ctx).line, 'drydock: no — do this');
});

// ------------------------------------------------------------ settings

test('settings: flags > env > file > defaults; token file; paths relative to the file', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drydock-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cli.yaml');
  writeFileSync(file, 'address: file:1\ntokenFile: tok\ntimeout: 5s\n');
  writeFileSync(path.join(dir, 'tok'), 'from-file\n');
  const env = { DRYDOCK_CONFIG: file, HOME: dir };

  const fromFile = resolveSettings({}, env);
  t.is(fromFile.address, 'file:1');
  t.is(fromFile.token, 'from-file');
  t.is(fromFile.timeoutMs, 5000);

  const fromEnv = resolveSettings({}, { ...env, DRYDOCK_ADDRESS: 'env:2', DRYDOCK_TOKEN: 'from-env' });
  t.is(fromEnv.address, 'env:2');
  t.is(fromEnv.token, 'from-env');

  const fromFlags = resolveSettings({ address: 'flag:3', token: 'from-flag' }, { ...env, DRYDOCK_ADDRESS: 'env:2', DRYDOCK_TOKEN: 'from-env' });
  t.is(fromFlags.address, 'flag:3');
  t.is(fromFlags.token, 'from-flag');

  const defaults = resolveSettings({}, { HOME: dir });
  t.is(defaults.address, '127.0.0.1:7443');
  t.is(defaults.token, '');
  t.is(defaults.timeoutMs, 30_000);

  writeFileSync(file, 'adress: typo\n');
  const err = t.throws(() => resolveSettings({}, env));
  t.true(err instanceof CliError);
  t.regex(err!.message, /adress/);
  t.throws(() => resolveSettings({ cert: 'a' }, { HOME: dir }), { message: /--cert and --key/ });
});

// ------------------------------------------------------------ views

test("policyFields: the coordinator's effective values, marked (default) exactly where the operator set nothing", (t) => {
  const effective: ZonePolicy = {
    placement: 'PLACEMENT_POLICY_PACK',
    max_migrations_per_source: 1,
    max_migrations_per_zone: 4,
    max_incoming_per_target: 1,
    stall_timeout_s: 150,
    timeout_per_gib_s: 150,
    min_timeout_s: 120,
    allow_post_copy: true,
    allow_auto_converge: false,
    cpu_overcommit_ratio: 4,
    host_memory_reserve_bytes: 1024 ** 3,
    max_attempts_per_server: 3,
    settle_pause_s: 300,
  } as ZonePolicy;
  const set: ZonePolicy = {
    placement: 'PLACEMENT_POLICY_PACK',
    max_migrations_per_source: 0,
    max_migrations_per_zone: 4,
    max_incoming_per_target: 0,
    stall_timeout_s: 0,
    timeout_per_gib_s: 0,
    min_timeout_s: 0,
    allow_post_copy: true,
    allow_auto_converge: false,
    cpu_overcommit_ratio: 0,
    host_memory_reserve_bytes: 0,
    max_attempts_per_server: 0,
    settle_pause_s: 0,
  } as ZonePolicy;
  const rows = new Map(policyFields(effective, set));
  t.is(rows.get('Placement'), 'pack');
  t.is(rows.get('Migrations per zone'), '4');
  t.is(rows.get('Post-copy allowed'), 'yes');
  t.is(rows.get('Migrations per source'), '1 (default)');
  t.is(rows.get('Settle pause'), '5m (default)');
  t.is(rows.get('Host memory reserve'), '1 GiB (default)');
  t.is(rows.get('Auto-converge allowed'), 'no (default)');
  // An older coordinator without policy_set: values only, nothing marked.
  t.false([...new Map(policyFields(effective)).values()].some((v) => v.includes('(default)')));
});

test('zoneCpuView: model, wrapped flags, advice, history with the causing host', (t) => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  const cpu: ZoneCpu = {
    zone_id: 'z1',
    mode: 'CPU_MODE_EXTENDED',
    model: 'Westmere',
    vendor: 'Intel',
    features: Array.from({ length: 30 }, (_, i) => `flag${i}`),
    extra_features: ['aes'],
    xml: '<cpu/>',
    history: [
      {
        at_ms: now - 3_600_000,
        from_model: 'Skylake-Server',
        to_model: 'Westmere',
        features_lost: ['avx2', 'avx512f'],
        features_gained: [],
        cause_host_id: 'h3',
        reason: 'host-returned',
        message: '',
        servers_needing_power_cycle: [],
      },
      {
        at_ms: now - 1_800_000,
        from_model: 'Westmere',
        to_model: 'Haswell-noTSX',
        features_lost: [],
        features_gained: ['avx2'],
        cause_host_id: '',
        reason: 'operator-upgrade',
        message: '',
        servers_needing_power_cycle: ['u1', 'u2'],
      },
    ],
    advice: ['move host h3 to a zone matching Westmere'],
    mismatched_hosts: [],
    servers_needing_power_cycle: ['web-1'],
    updated_at_ms: now - 60_000,
  };
  const text = zoneCpuView(cpu, now);
  t.regex(text, /^Mode:\s+extended$/m);
  t.regex(text, /^Model:\s+Westmere$/m);
  t.regex(text, /^Extra flags:\s+aes$/m);
  t.regex(text, /^Need power cycle:\s+web-1$/m);
  t.regex(text, /^Updated:\s+1m ago$/m);
  const flagLines = text.split('\n').filter((l) => /flag\d/.test(l));
  t.true(flagLines.length > 1, 'long flag lists wrap');
  t.true(flagLines.every((l) => l.length <= 100));
  t.regex(text, /\nAdvice\n {2}- move host h3 to a zone matching Westmere\n/);
  t.regex(text, /^ {2}2026-11-25 11:00:00Z +Skylake-Server +Westmere +avx2,avx512f +- +h3 +host-returned +-$/m);
  t.regex(text, /^ {2}2026-11-25 11:30:00Z +Westmere +Haswell-noTSX +- +avx2 +operator +operator-upgrade +2 server\(s\)$/m);
});

test('hostView: the CPU against the zone, and why the host is not a target', (t) => {
  const now = Date.now();
  const host: Host = {
    id: 'h3',
    hostname: 'kvm-3',
    zone_id: 'z1',
    label: '',
    enabled: true,
    storage_cluster: 'vs1',
    hypervisor_type: 'kvm',
    grpc_endpoint: '10.0.0.3:7444',
    migration_uri: 'qemu+tcp://10.0.0.3/system',
    online: true,
    last_heartbeat_ms: now - 2000,
    incarnation: 'i',
    boot_id: 'b',
    maintenance: 'MAINTENANCE_STATE_NONE',
    maintenance_operation_id: '',
    memory_total_bytes: 64 * GiB,
    memory_free_bytes: 40 * GiB,
    logical_cpus: 32,
    server_count: 4,
    storage_pools_shared: ['vs1'],
    libvirt_version: '9.0.0',
    qemu_version: '7.2.0',
    registered_at_ms: now - 86_400_000,
    not_a_target_because: ['CPU cannot run the zone model Skylake-Server'],
    storage_pools: [],
    cpu: {
      model: 'Westmere',
      vendor: 'Intel',
      default_flags: ['sse4.2', 'popcnt'],
      additional_flags: ['aes'],
      unmatching_extra_flags: ['vmx'],
      unmatching_missing_flags: ['avx2'],
      host_flags: ['sse4.2', 'popcnt', 'aes', 'vmx'],
      compatible: false,
      advice: 'move h3 to a zone matching Westmere',
    },
  };
  const text = hostView(host, now);
  t.is(hostStatus(host), 'online');
  t.is(hostStatus({ ...host, maintenance: 'MAINTENANCE_STATE_IN_MAINTENANCE' }), 'in-maintenance');
  t.is(hostStatus({ ...host, online: false, maintenance: 'MAINTENANCE_STATE_RETURNING' }), 'offline,returning');
  t.is(hostStatus({ ...host, online: false }), 'offline');
  t.regex(text, /^Target:\s+no: CPU cannot run the zone model Skylake-Server$/m);
  t.regex(text, /^Memory:\s+40 GiB free of 64 GiB$/m);
  t.regex(text, /^ {2}Model:\s+Westmere \(Intel\)$/m);
  t.regex(text, /^ {2}Zone compatible:\s+no: never a migration target in this zone$/m);
  t.regex(text, /^ {2}Default flags:\s+sse4\.2 popcnt$/m);
  t.regex(text, /^ {2}Additional flags:\s+aes$/m);
  t.regex(text, /^ {2}Unmatching \(extra\):\s+vmx$/m);
  t.regex(text, /^ {2}Unmatching \(missing\):\s+avx2$/m);
  t.regex(text, /^ {2}Advice:\s+move h3 to a zone matching Westmere$/m);
});

test('planView: refusals, blockers and warnings in their own sections', (t) => {
  const planned = (name: string, action: 'SERVER_ACTION_LIVE_MIGRATE' | 'SERVER_ACTION_STOP', target: string) => ({
    server_uuid: `uuid-${name}`,
    server_name: name,
    action,
    target_host_id: target,
    reason: target ? `to ${target}` : 'fits nowhere',
    memory_bytes: 2 * GiB,
    local_disk_bytes: 0,
    was_running: true,
    estimated_seconds: target ? 30 : 0,
    candidates: [
      {
        host_id: 'h2',
        eligible: false,
        memory_free_after_bytes: -GiB,
        checks: [
          { check: 'memory', verdict: 'block', reason: 'needs 2 GiB, 1 GiB free' },
          { check: 'online', verdict: 'ok', reason: '' },
        ],
      },
    ],
  });
  const plan: Plan = {
    host_id: 'h1',
    zone_id: 'z1',
    servers: [planned('web-1', 'SERVER_ACTION_LIVE_MIGRATE', 'h3')],
    blockers: [planned('db-1', 'SERVER_ACTION_STOP', '')],
    refusals: [],
    warnings: ['target h3 will be 94% full'],
    estimated_seconds: 95,
    assumed_bandwidth_bps: 100 * MiB,
    planned_at_ms: 0,
  };
  const text = planView(plan, true);
  t.regex(text, /^Plan for host h1 \(zone z1\): 1 server\(s\) to move, estimated 1m 35s at 100 MiB\/s$/m);
  t.regex(text, /\nCannot move \(enable needs --stop-unmigratable, which stops them\):\nSERVER/);
  t.regex(text, /^db-1 +uuid-db-1 +stop +- +2 GiB/m);
  t.regex(text, /\nWarnings\n {2}- target h3 will be 94% full\n/);
  t.regex(text, /^ {4}h2: not eligible\n {6}block memory: needs 2 GiB, 1 GiB free$/m);
  t.notRegex(text, /ok online/, 'explain lists only the checks that did not pass');
  const refused = planView({ ...plan, servers: [], blockers: [], refusals: ['host h1 is not a KVM host'] }, false);
  t.regex(refused, /\nRefused: the plan cannot run\n {2}- host h1 is not a KVM host\n/);
});
