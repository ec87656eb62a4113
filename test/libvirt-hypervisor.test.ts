// LibvirtHypervisor against real libvirtd and QEMU guests on a 2-host lab
// (scripts/lab). Each hypervisor runs virsh inside its host's namespaces
// with qemu:///system, as the agent does in production.
import anyTest, { type TestFn } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { createLab, type Lab, type LabHost } from '../scripts/lab/index.ts';
import { LibvirtHypervisor } from '../agent/hypervisor/libvirt.ts';
import type { DomainEvent, JobStats, LiveMigrationSpec } from '../agent/hypervisor/hypervisor.ts';
import {
  DomainRunningError,
  MigrationAbortedError,
  OperationInvalidError,
  SameHostError,
  ServerNotFoundError,
  TargetUnreachableError,
  UnsafeMigrationError,
} from '../agent/hypervisor/errors.ts';

interface Ctx {
  lab: Lab;
  h1: LabHost;
  h2: LabHost;
  hv1: LibvirtHypervisor;
  hv2: LibvirtHypervisor;
  /** Event streams opened by tests; aborted in after.always. */
  streams: AbortController[];
}

const test = anyTest as TestFn<Ctx>;
const LAB_NAME = 'ddlv';
// A subnet of our own so this file can run beside other lab tests.
const LAB_SUBNET = 42;
const cpuFixture = (m: string) => readFileSync(new URL(`./fixtures/libvirt/cpu/${m}.xml`, import.meta.url), 'utf8');

function hypervisorFor(lab: Lab, host: LabHost): LibvirtHypervisor {
  return new LibvirtHypervisor({
    uri: 'qemu:///system',
    prefix: ['nsenter', '-t', String(host.nsPid), '-m', '-n', '--'],
    migrationUri: host.uri,
    // Lab guests are TCG; this machine's nested KVM would answer CPU questions for another domain type.
    virtType: 'qemu',
    sharedPaths: [lab.sharedDir],
    callTimeoutMs: 30_000,
  });
}

/** A live migration of `uuid` as the agent asks for it: with the plan of its disks (migrationSource) read first. */
const live = async (hv: LibvirtHypervisor, uuid: string, targetUri: string, over: Partial<LiveMigrationSpec> = {}): Promise<LiveMigrationSpec> => ({
  uuid,
  targetUri,
  disks: (await hv.migrationSource(uuid)).disks,
  copyStorage: false,
  unsafe: false,
  postCopy: false,
  autoConverge: false,
  bandwidthMiBps: 0,
  signal: new AbortController().signal,
  ...over,
});

test.before(async (t) => {
  const lab = await createLab({ hosts: 2, name: LAB_NAME, subnet: LAB_SUBNET });
  const [h1, h2] = lab.hosts as [LabHost, LabHost];
  t.context = { lab, h1, h2, hv1: hypervisorFor(lab, h1), hv2: hypervisorFor(lab, h2), streams: [] };
});

test.after.always(async (t) => {
  for (const s of t.context.streams ?? []) s.abort();
  await t.context.lab?.destroy();
});

/** Samples jobStats until the promise settles. */
async function sampleWhile(hv: LibvirtHypervisor, uuid: string, p: Promise<unknown>, everyMs = 150): Promise<JobStats[]> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  const out: JobStats[] = [];
  while (!done) {
    const s = await hv.jobStats(uuid).catch(() => null);
    if (s) out.push(s);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return out;
}

test.serial('facts: TCG host, host uuid, host-model CPU, pools, versions', async (t) => {
  const { hv1, h1, lab } = t.context;
  const f = await hv1.facts();
  t.is(f.hypervisorType, 'qemu');
  t.is(f.hostUuid, h1.hostUuid);
  t.truthy(f.cpu.model);
  t.true(f.cpu.xml.includes('<cpu'));
  t.regex(f.libvirtVersion, /^\d+\.\d+\.\d+$/);
  t.regex(f.qemuVersion, /^\d+\.\d+/);
  t.true(f.memoryTotalBytes > 0 && f.memoryFreeBytes > 0 && f.memoryFreeBytes <= f.memoryTotalBytes);
  t.true(f.topology.logical_cpus >= 1);
  const shared = f.storagePools.find((p) => p.path === lab.sharedDir);
  const local = f.storagePools.find((p) => p.path === '/var/lib/libvirt/images');
  t.true(shared?.shared, 'the lab shared dir is declared shared');
  t.false(local?.shared ?? true, 'the private images dir is local');
  // The same host-model compares identical on its own host.
  t.is((await hv1.compareCpu(f.cpu.xml)).result, 'CPU_COMPARE_RESULT_IDENTICAL');
});

test.serial('list and getServer: state, size, disks, metadata; unknown server is NOT_FOUND', async (t) => {
  const { lab, h1, hv1 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-list', memoryMiB: 128, fillMiB: 8, hotMigration: false, smart: true, localDiskMiB: 16, start: false });
  const list = await hv1.listServers();
  const s = list.find((x) => x.uuid === g.uuid);
  t.truthy(s);
  t.like(s, {
    name: 'ddlv-list',
    state: 'SERVER_STATE_SHUTOFF',
    memory_bytes: 128 * 1024 * 1024,
    hot_migration: false,
    smart: true,
    persistent: true,
    domain_type: 'qemu',
  });
  t.is(s!.disks.length, 1);
  t.like(s!.disks[0], { target: 'vda', path: '/var/lib/libvirt/images/ddlv-list.qcow2', shared: false, format: 'qcow2', capacity_bytes: 16 * 1024 * 1024 });
  t.deepEqual(await hv1.getServer('ddlv-list'), s);
  const err = await t.throwsAsync(hv1.getServer('00000000-0000-4000-8000-000000000000'));
  t.true(err instanceof ServerNotFoundError);
  t.is((err as ServerNotFoundError).code, status.NOT_FOUND);
});

test.serial('live migration h1→h2 with job stats sampled; guest keeps beating on h2; events on both ends', async (t) => {
  const { lab, h1, h2, hv1, hv2 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-live', memoryMiB: 128, fillMiB: 32 });
  await lab.waitForHeartbeats(g.name, { count: 2, host: h1.name, timeoutMs: 60_000 });

  const events: DomainEvent[] = [];
  const ac = new AbortController();
  t.context.streams.push(ac);
  const collecting = (async () => {
    for await (const e of hv2.events(ac.signal)) if (e.name === g.name) events.push(e);
  })();
  await new Promise((r) => setTimeout(r, 300)); // let `virsh event` connect

  const t0 = Date.now();
  const migration = hv1.migrateLive(await live(hv1, g.uuid, h2.uri));
  const samples = await sampleWhile(hv1, g.uuid, migration);
  await migration;
  t.log(`live migration ${Date.now() - t0} ms, ${samples.length} job samples`);
  t.true(samples.length > 0, 'jobStats saw the running job');
  t.true(samples.every((s) => s.type === 'unbounded' && !s.postCopy));
  t.true(samples.some((s) => s.timeElapsedMs > 0));

  t.is((await hv2.getServer(g.uuid)).state, 'SERVER_STATE_RUNNING');
  t.is(await hv1.serverOn(h1.uri, g.uuid), null, 'undefined on the source');
  t.is((await hv1.serverOn(h2.uri, g.uuid))?.state, 'SERVER_STATE_RUNNING', 'serverOn reaches the peer');
  t.is(await hv1.jobStats(g.uuid), null, 'no job once the domain left');

  const before = (await lab.heartbeats(g.name)).filter((b) => b.host === h1.name).at(-1)!.n;
  const beats = await lab.waitForHeartbeats(g.name, { count: 2, host: h2.name, after: before, timeoutMs: 30_000 });
  const onH2 = beats.filter((b) => b.host === h2.name);
  t.true(onH2[0]!.n <= before + 2, `counter continued on h2 (${before} → ${onH2[0]!.n})`);

  await new Promise((r) => setTimeout(r, 300));
  ac.abort();
  await collecting;
  const details = events.map((e) => `${e.event} ${e.detail}`);
  t.true(details.includes('lifecycle Started Migrated'), details.join(' | '));
  t.true(details.includes('lifecycle Resumed Migrated'), details.join(' | '));
});

test.serial('abort mid-migration: MigrationAbortedError (ABORTED), guest still running on the source only', async (t) => {
  const { lab, h1, h2, hv1, hv2 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-abort', memoryMiB: 160, fillMiB: 48 });
  await lab.waitForHeartbeats(g.name, { count: 1, host: h1.name, timeoutMs: 60_000 });
  const ac = new AbortController();
  // 1 MiB/s keeps ~80 MiB of dirty memory moving for over a minute.
  const migration = hv1.migrateLive(await live(hv1, g.uuid, h2.uri, { bandwidthMiBps: 1, signal: ac.signal }));
  migration.catch(() => undefined);
  for (let i = 0; i < 100; i++) {
    const s = await hv1.jobStats(g.uuid);
    if (s && s.dataProcessed > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const t0 = Date.now();
  ac.abort();
  const err = await t.throwsAsync(migration);
  t.log(`aborted in ${Date.now() - t0} ms`);
  t.true(err instanceof MigrationAbortedError, `${err?.name}: ${err?.message}`);
  t.is((err as MigrationAbortedError).code, status.ABORTED);
  t.is((await hv1.getServer(g.uuid)).state, 'SERVER_STATE_RUNNING');
  t.is(await hv2.serverOn(h2.uri, g.uuid), null);
  const last = (await lab.heartbeats(g.name)).at(-1)!.n;
  await lab.waitForHeartbeats(g.name, { count: 1, host: h1.name, after: last, timeoutMs: 15_000 });
  // Nothing left to abort.
  t.true((await t.throwsAsync(hv1.abortJob(g.uuid))) instanceof OperationInvalidError);
});

test.serial('post-copy: switch, jobStats reports it, abort is refused (never abort in post-copy), migration completes', async (t) => {
  const { lab, h1, h2, hv1, hv2 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-pc', memoryMiB: 192, fillMiB: 64 });
  await lab.waitForHeartbeats(g.name, { count: 1, host: h1.name, timeoutMs: 60_000 });
  const ac = new AbortController();
  // The cap also holds in post-copy, which keeps that phase long enough to try an abort in it.
  const migration = hv1.migrateLive(await live(hv1, g.uuid, h2.uri, { postCopy: true, bandwidthMiBps: 16, signal: ac.signal }));
  migration.catch(() => undefined);
  for (let i = 0; i < 100; i++) {
    const s = await hv1.jobStats(g.uuid);
    if (s && s.dataProcessed > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await hv1.startPostCopy(g.uuid);
  let inPostCopy = false;
  for (let i = 0; i < 50 && !inPostCopy; i++) {
    inPostCopy = (await hv1.jobStats(g.uuid))?.postCopy ?? false;
    if (!inPostCopy) await new Promise((r) => setTimeout(r, 100));
  }
  t.true(inPostCopy, 'jobStats saw post-copy');
  const refused = await t.throwsAsync(hv1.abortJob(g.uuid));
  t.is(refused?.name, 'PostCopyAbortRefusedError');
  t.is((refused as { code?: number }).code, status.FAILED_PRECONDITION);
  ac.abort(); // the migration's own abort must not cancel it either
  await migration;
  t.is((await hv2.getServer(g.uuid)).state, 'SERVER_STATE_RUNNING');
  t.is(await hv1.serverOn(h1.uri, g.uuid), null);
});

test.serial('offline move of a shut-off guest; refused while running', async (t) => {
  const { lab, h1, h2, hv1, hv2 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-off', memoryMiB: 64, fillMiB: 0, start: false });
  await hv1.migrateOffline(g.uuid, h2.uri);
  t.is((await hv2.getServer(g.uuid)).state, 'SERVER_STATE_SHUTOFF');
  t.is(await hv1.serverOn(h1.uri, g.uuid), null);

  const running = await lab.defineGuest(h1, { name: 'ddlv-off2', memoryMiB: 64, fillMiB: 0 });
  const err = await t.throwsAsync(hv1.migrateOffline(running.uuid, h2.uri));
  t.true(err instanceof DomainRunningError);
  t.is((err as DomainRunningError).code, status.FAILED_PRECONDITION);
  t.is(await hv2.serverOn(h2.uri, running.uuid), null, 'nothing defined on the target');
  await hv1.destroy(running.uuid);
});

test.serial('copy-storage live migration of a guest with a local disk; source file removed after', async (t) => {
  const { lab, h1, h2, hv1, hv2 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-disk', memoryMiB: 128, fillMiB: 16, localDiskMiB: 64 });
  await lab.waitForHeartbeats(g.name, { count: 1, host: h1.name, timeoutMs: 60_000 });
  const path = '/var/lib/libvirt/images/ddlv-disk.qcow2';

  const refused = await t.throwsAsync(hv1.migrateLive(await live(hv1, g.uuid, h2.uri)));
  t.true(refused instanceof UnsafeMigrationError, 'local disk without copy-storage');

  // An aborted copy leaves no half-copied disk on the target.
  const ac = new AbortController();
  const aborted = hv1.migrateLive(await live(hv1, g.uuid, h2.uri, { copyStorage: true, bandwidthMiBps: 1, signal: ac.signal }));
  aborted.catch(() => undefined);
  for (let i = 0; i < 100 && !(await hv1.jobStats(g.uuid))?.diskProcessed; i++) await new Promise((r) => setTimeout(r, 100));
  ac.abort();
  t.true((await t.throwsAsync(aborted)) instanceof MigrationAbortedError);
  const onTarget = () =>
    h2.virsh(['vol-info', '--pool', 'local', '--vol', 'ddlv-disk.qcow2']).then(
      () => true,
      () => false,
    );
  t.false(await onTarget(), 'target copy removed after the abort');

  // A file already at that path on the target is never written into.
  await h2.virsh(['vol-create-as', 'local', 'ddlv-disk.qcow2', '1M']);
  const occupied = await t.throwsAsync(hv1.migrateLive(await live(hv1, g.uuid, h2.uri, { copyStorage: true })));
  t.is((occupied as { code?: number }).code, status.FAILED_PRECONDITION, occupied?.message);
  await h2.virsh(['vol-delete', '--pool', 'local', 'ddlv-disk.qcow2']);

  const t0 = Date.now();
  const migration = hv1.migrateLive(await live(hv1, g.uuid, h2.uri, { copyStorage: true }));
  const samples = await sampleWhile(hv1, g.uuid, migration);
  await migration;
  t.log(`copy-storage migration ${Date.now() - t0} ms, ${samples.length} samples`);
  const moved = await hv2.getServer(g.uuid);
  t.is(moved.state, 'SERVER_STATE_RUNNING');
  t.like(moved.disks[0], { path, shared: false });

  // The source copy stays behind until removed; it is no longer in use there.
  await hv1.removeLocalDisk(path);
  const leftover = await h1.virsh(['vol-info', path]).then(
    () => true,
    () => false,
  );
  t.false(leftover);
  // On the target it is in use: refused.
  t.is((await t.throwsAsync(hv2.removeLocalDisk(path)))?.name, 'FailedPreconditionError');
});

test.serial('a disk on a declared shared path migrates live with --unsafe and is not copied', async (t) => {
  const { lab, h1, h2, hv1, hv2 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-shared', memoryMiB: 128, fillMiB: 16, sharedDiskMiB: 32 });
  await lab.waitForHeartbeats(g.name, { count: 1, host: h1.name, timeoutMs: 60_000 });
  const s = await hv1.getServer(g.uuid);
  t.true(s.disks[0]!.shared);
  const refused = await t.throwsAsync(hv1.migrateLive(await live(hv1, g.uuid, h2.uri, { copyStorage: true })));
  t.true(refused instanceof UnsafeMigrationError, 'declared shared disk without unsafe allowed');
  await hv1.migrateLive(await live(hv1, g.uuid, h2.uri, { copyStorage: true, unsafe: true }));
  t.is((await hv2.getServer(g.uuid)).state, 'SERVER_STATE_RUNNING');
});

test.serial('cold move with a local disk: copyDiskTo, migrateOffline, startOn, removeLocalDisk', async (t) => {
  const { lab, h1, h2, hv1, hv2 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-cold', memoryMiB: 128, fillMiB: 8, localDiskMiB: 32, start: false });
  const path = '/var/lib/libvirt/images/ddlv-cold.qcow2';
  await hv1.copyDiskTo(path, h2.uri);
  await hv1.migrateOffline(g.uuid, h2.uri);
  await hv1.startOn(h2.uri, g.uuid);
  const s = await hv2.getServer(g.uuid);
  t.is(s.state, 'SERVER_STATE_RUNNING');
  t.is(s.disks[0]!.capacity_bytes, 32 * 1024 * 1024);
  await lab.waitForHeartbeats(g.name, { count: 1, host: h2.name, timeoutMs: 60_000 });
  await hv1.removeLocalDisk(path);
  await hv1.removeLocalDisk(path); // idempotent
  const err = await t.throwsAsync(hv1.removeLocalDisk('/etc/libvirt/qemu.conf'));
  t.is((err as { code?: number }).code, status.INVALID_ARGUMENT);
});

test.serial('removeLocalDisk of a file in a subdirectory of a pool never deletes the pool volume of the same base name', async (t) => {
  const { h1, hv1 } = t.context;
  const top = '/var/lib/libvirt/images/ddlv-same.qcow2';
  const nested = '/var/lib/libvirt/images/ddlv-tenant/ddlv-same.qcow2';
  await h1.virsh(['vol-create-as', 'local', 'ddlv-same.qcow2', '1M']);
  await h1.exec(['mkdir', '-p', '/var/lib/libvirt/images/ddlv-tenant']);
  await h1.exec(['truncate', '-s', '1M', nested]);
  await h1.virsh(['pool-refresh', 'local']);
  try {
    // The nested file is no volume of `local` (dir pools do not recurse): it
    // is unlinked by path. hv1 runs in this test's mount namespace, not the
    // lab host's, so where that unlink lands is not asserted here; what the
    // old code got wrong is: it ran vol-delete --pool local --vol ddlv-same.qcow2.
    await hv1.removeLocalDisk(nested);
    t.true(
      await h1.virsh(['vol-info', top]).then(
        () => true,
        () => false,
      ),
      'the pool volume of the same base name is still there',
    );
    // The volume itself is removed by its exact path.
    await hv1.removeLocalDisk(top);
    t.false(
      await h1.virsh(['vol-info', top]).then(
        () => true,
        () => false,
      ),
    );
  } finally {
    await h1.virsh(['vol-delete', '--pool', 'local', 'ddlv-same.qcow2']).catch(() => undefined);
    await h1.exec(['rm', '-rf', '/var/lib/libvirt/images/ddlv-tenant']).catch(() => undefined);
  }
});

test.serial('disk copies: never over an existing file on the target; removeDiskCopyOn removes ours and refuses a file a target domain uses', async (t) => {
  const { lab, h1, h2, hv1 } = t.context;
  await lab.defineGuest(h1, { name: 'ddlv-copy', memoryMiB: 64, localDiskMiB: 16, start: false });
  const path = '/var/lib/libvirt/images/ddlv-copy.qcow2';
  const onH2 = () =>
    h2.virsh(['vol-info', '--pool', 'local', '--vol', 'ddlv-copy.qcow2']).then(
      () => true,
      () => false,
    );
  await hv1.copyDiskTo(path, h2.uri);
  t.true(await onH2(), 'copied');
  const again = await t.throwsAsync(hv1.copyDiskTo(path, h2.uri));
  t.is((again as { code?: number }).code, status.FAILED_PRECONDITION);
  t.regex(again?.message ?? '', /already exists on .*refusing to overwrite/);
  await hv1.removeDiskCopyOn(h2.uri, path);
  t.false(await onH2(), 'removed');
  await hv1.removeDiskCopyOn(h2.uri, path); // absent is fine

  // A disk of a domain defined on the target (not running) is never removed.
  await lab.defineGuest(h2, { name: 'ddlv-user', memoryMiB: 64, localDiskMiB: 16, start: false });
  const used = await t.throwsAsync(hv1.removeDiskCopyOn(h2.uri, '/var/lib/libvirt/images/ddlv-user.qcow2'));
  t.is((used as { code?: number }).code, status.FAILED_PRECONDITION);
  t.regex(used?.message ?? '', /is a disk of domain/);
  t.true(
    await h2.virsh(['vol-info', '--pool', 'local', '--vol', 'ddlv-user.qcow2']).then(
      () => true,
      () => false,
    ),
    'still there',
  );
  const bad = await t.throwsAsync(hv1.removeDiskCopyOn(h2.uri, '/var/lib/../../etc/passwd; rm'));
  t.is((bad as { code?: number }).code, status.INVALID_ARGUMENT);
});

test.serial('CPU compare and baseline on the cpu_map fixtures through real libvirt', async (t) => {
  const { hv1 } = t.context;
  const base1 = await hv1.baselineCpu([cpuFixture('Skylake-Server'), cpuFixture('Haswell-noTSX')], { migratable: false, expandFeatures: false });
  t.is(base1.model, 'Haswell-noTSX');
  t.is(base1.vendor, 'Intel');
  const base2 = await hv1.baselineCpu([cpuFixture('Skylake-Server'), cpuFixture('Haswell-noTSX'), cpuFixture('Westmere')], {
    migratable: false,
    expandFeatures: false,
  });
  t.is(base2.model, 'Westmere');
  const expanded = await hv1.baselineCpu([cpuFixture('Cascadelake-Server'), cpuFixture('Skylake-Server')], { migratable: true, expandFeatures: true });
  t.true(expanded.features.length > 30, `${expanded.model}: ${expanded.features.length} features`);
  const amd = await hv1.baselineCpu([cpuFixture('EPYC'), cpuFixture('EPYC-Rome')], { migratable: false, expandFeatures: false });
  t.is(amd.vendor, 'AMD');
  t.is(amd.model, 'EPYC');

  const mixed = await t.throwsAsync(hv1.baselineCpu([cpuFixture('Westmere'), cpuFixture('EPYC')], { migratable: false, expandFeatures: false }));
  t.is(mixed?.name, 'NoCommonCpuError');
  t.is((mixed as { code?: number }).code, status.FAILED_PRECONDITION);

  // The TCG host-model here is an AMD EPYC: Intel models are incompatible by vendor.
  const intel = await hv1.compareCpu(cpuFixture('Westmere'));
  t.is(intel.result, 'CPU_COMPARE_RESULT_INCOMPATIBLE');
  t.regex(intel.message, /vendor/);
  const epyc = await hv1.compareCpu(cpuFixture('EPYC'));
  t.is(epyc.result, 'CPU_COMPARE_RESULT_INCOMPATIBLE');
  t.true(epyc.missingFeatures.length > 0, epyc.message);
  const qemu64 = await hv1.compareCpu(`<cpu><arch>x86_64</arch><model>qemu64</model></cpu>`);
  t.is(qemu64.result, 'CPU_COMPARE_RESULT_SUPERSET');
  t.is(((await t.throwsAsync(hv1.compareCpu('<cpu><model>NoSuchModel</model></cpu>'))) as { code?: number }).code, status.INVALID_ARGUMENT);
});

test.serial('errors: unreachable target (UNAVAILABLE), same host (INVALID_ARGUMENT), start of a running guest', async (t) => {
  const { lab, h1, hv1 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-err', memoryMiB: 64, fillMiB: 0 });
  const nowhere = `qemu+tcp://10.99.${LAB_SUBNET}.250/system`;
  const t0 = Date.now();
  const unreachable = await t.throwsAsync(hv1.migrateLive(await live(hv1, g.uuid, nowhere)));
  t.log(`unreachable after ${Date.now() - t0} ms`);
  t.true(unreachable instanceof TargetUnreachableError, `${unreachable?.name}: ${unreachable?.message}`);
  t.is((unreachable as TargetUnreachableError).code, status.UNAVAILABLE);

  const same = await t.throwsAsync(hv1.migrateLive(await live(hv1, g.uuid, h1.uri)));
  t.true(same instanceof SameHostError, `${same?.name}: ${same?.message}`);
  t.is((same as SameHostError).code, status.INVALID_ARGUMENT);

  t.true((await t.throwsAsync(hv1.start(g.uuid))) instanceof DomainRunningError);
  // Nothing changed: still running here.
  t.is((await hv1.getServer(g.uuid)).state, 'SERVER_STATE_RUNNING');
  await hv1.destroy(g.uuid);
  t.is((await hv1.getServer(g.uuid)).state, 'SERVER_STATE_SHUTOFF');
});

test.serial('events: the stream survives a libvirtd restart (virsh event restarted with backoff)', async (t) => {
  const { lab, h2, hv2 } = t.context;
  const ac = new AbortController();
  t.context.streams.push(ac);
  const seen: DomainEvent[] = [];
  const collecting = (async () => {
    for await (const e of hv2.events(ac.signal)) seen.push(e);
  })();
  await new Promise((r) => setTimeout(r, 300));
  await lab.restartHost(h2);
  // The stream reconnects after its backoff (1 s, doubling): power-cycle a
  // guest until its lifecycle events come through the new `virsh event`.
  const restartedAt = Date.now();
  const g = await lab.defineGuest(h2, { name: 'ddlv-ev', memoryMiB: 96, fillMiB: 0, start: false });
  const lifecycle = () => seen.filter((e) => e.name === g.name && e.event === 'lifecycle');
  for (let i = 0; i < 30 && lifecycle().length === 0; i++) {
    await hv2.start(g.uuid).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    await hv2.destroy(g.uuid).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
  }
  t.log(`events flowing again ${Date.now() - restartedAt} ms after the restart`);
  ac.abort();
  await collecting;
  t.true(lifecycle().length > 0, JSON.stringify(seen.slice(-5)));
});

/** Our own child processes running `virsh ... event` (read from /proc; nothing is killed here). */
function eventChildren(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes('event') && argv.includes('--loop')) out.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

test.serial('events: the stream ends promptly when its signal aborts, its virsh child gone', async (t) => {
  const { hv1 } = t.context;
  const before = eventChildren().length;
  const ac = new AbortController();
  const it = hv1.events(ac.signal)[Symbol.asyncIterator]();
  const next = it.next();
  await new Promise((r) => setTimeout(r, 300));
  t.is(eventChildren().length, before + 1, 'one virsh event child while streaming');
  const t0 = Date.now();
  ac.abort();
  t.deepEqual(await next, { done: true, value: undefined });
  t.true(Date.now() - t0 < 2000);
  for (let i = 0; i < 20 && eventChildren().length > before; i++) await new Promise((r) => setTimeout(r, 50));
  t.is(eventChildren().length, before, 'no child left behind');

  // Leaving a for-await loop (break) without aborting ends the child too.
  const { lab, h1 } = t.context;
  const g = await lab.defineGuest(h1, { name: 'ddlv-brk', memoryMiB: 96, fillMiB: 0, start: false });
  const ac2 = new AbortController();
  t.context.streams.push(ac2);
  const got = (async () => {
    for await (const e of hv1.events(ac2.signal)) if (e.name === g.name) return e;
    return undefined;
  })();
  await new Promise((r) => setTimeout(r, 300));
  t.is(eventChildren().length, before + 1);
  await hv1.start(g.uuid);
  t.is((await got)?.event, 'lifecycle');
  for (let i = 0; i < 20 && eventChildren().length > before; i++) await new Promise((r) => setTimeout(r, 50));
  t.is(eventChildren().length, before, 'no child left behind after break');
  await hv1.destroy(g.uuid);
});

test.serial('undefineShutOff: a shut-off definition on another host goes, its disk file stays; a running one is refused and runs on', async (t) => {
  const { lab, h1, h2, hv1 } = t.context;
  const off = await lab.defineGuest(h2, { name: 'ddlv-stale', memoryMiB: 64, localDiskMiB: 16, start: false });
  await hv1.undefineShutOff(off.uuid, h2.uri);
  t.is(await hv1.stateOn(h2.uri, off.uuid), null, 'undefined on h2');
  t.true(
    await h2.virsh(['vol-info', '--pool', 'local', '--vol', 'ddlv-stale.qcow2']).then(
      () => true,
      () => false,
    ),
    'its disk file stays',
  );
  const on = await lab.defineGuest(h1, { name: 'ddlv-runs', memoryMiB: 128, fillMiB: 8 });
  const refused = await t.throwsAsync(hv1.undefineShutOff(on.uuid));
  t.true(refused instanceof DomainRunningError, String(refused));
  t.is(await hv1.stateOn(h1.uri, on.uuid), 'SERVER_STATE_RUNNING', 'still running, still defined');
});
