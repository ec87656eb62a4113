// The libvirt parsers and the one error parser against output captured from
// this machine's libvirt 9.0 (test/fixtures/libvirt). No daemon needed.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { parseCapabilities, parseDomainCapabilities } from '../agent/hypervisor/parse-capabilities.ts';
import { buildCpuXml, parseCpuBaseline, parseCpuCompareOutput, parseCpuXml, splitCpuXmls } from '../agent/hypervisor/parse-cpu.ts';
import { parseDomainXml, parseDomState, parseDomStats, parseNameList, parseUuidList } from '../agent/hypervisor/parse-domain.ts';
import { parseDomJobInfo } from '../agent/hypervisor/parse-jobinfo.ts';
import { parseFreeCell, parseNodeInfo, parseNodeMemStats, parseVersion } from '../agent/hypervisor/parse-node.ts';
import { parseDomBlkInfo, parsePoolXml, parseVolInfo, parseVolXml } from '../agent/hypervisor/parse-storage.ts';
import { EventLineParser } from '../agent/hypervisor/parse-events.ts';
import { extractElement, parseXml, scaled, child } from '../agent/hypervisor/parse-xml.ts';
import {
  CpuIncompatibleError,
  DomainBusyError,
  DomainNotRunningError,
  DomainRunningError,
  HypervisorUnavailableError,
  InvalidDefinitionError,
  LibvirtError,
  MigrationAbortedError,
  NoCommonCpuError,
  OperationInvalidError,
  parseLibvirtError,
  SameHostError,
  ServerNotFoundError,
  StorageNotFoundError,
  TargetUnreachableError,
  UnsafeMigrationError,
} from '../agent/hypervisor/errors.ts';
import { Virsh } from '../agent/hypervisor/virsh.ts';
import { LibvirtHypervisor, assertHostPath } from '../agent/hypervisor/libvirt.ts';
import type { Server } from '../agent/hypervisor/hypervisor.ts';
import { liveDiskFlags, planDisks } from '../agent/hypervisor/disk-plan.ts';

const FIX = new URL('./fixtures/libvirt/', import.meta.url);
const fx = (name: string) => readFileSync(new URL(name, FIX), 'utf8');

// ------------------------------------------------------------ capabilities

test('capabilities: host uuid, CPU, topology, guest domain types', (t) => {
  const caps = parseCapabilities(fx('capabilities.xml'));
  t.is(caps.hostUuid, '39108831-459f-4732-ab7e-d50eff8bb8a1');
  t.is(caps.arch, 'x86_64');
  t.is(caps.cpu.arch, 'x86_64');
  t.is(caps.cpu.vendor, 'Intel');
  t.is(caps.cpu.model, 'Broadwell-noTSX-IBRS');
  t.true(caps.cpu.features.includes('avx512f'));
  t.true(caps.cpu.features.includes('vme'));
  t.deepEqual(caps.cpu.disabled_features, []);
  t.true(caps.cpu.xml.startsWith('<cpu>'));
  t.true(caps.cpu.xml.trimEnd().endsWith('</cpu>'));
  t.deepEqual(caps.topology, { sockets: 1, dies: 1, cores: 2, threads: 1 });
  t.deepEqual(caps.domainTypes.sort(), ['kvm', 'qemu']);
  t.true(caps.kvm);
  t.deepEqual(caps.migrationTransports, ['tcp', 'rdma']);
});

test('domcapabilities (kvm): host-model with require/disable features → CpuDescription with a <cpu> libvirt takes back', (t) => {
  const dc = parseDomainCapabilities(fx('domcapabilities.xml'));
  t.is(dc.domainType, 'kvm');
  t.is(dc.arch, 'x86_64');
  t.is(dc.machine, 'pc-i440fx-7.2');
  t.true(dc.hostPassthrough);
  const hm = dc.hostModel!;
  t.is(hm.model, 'kvm64');
  t.is(hm.vendor, 'Intel');
  t.true(hm.features.includes('x2apic'));
  t.deepEqual(hm.disabled_features, ['pni']);
  t.true(hm.xml.includes(`<feature policy='disable' name='pni'/>`));
  t.true(hm.xml.includes(`<model fallback='forbid'>kvm64</model>`));
  // The rebuilt element parses back to the same description.
  const back = parseCpuXml(hm.xml, 'x86_64');
  t.deepEqual({ ...back, xml: '' }, { ...hm, xml: '' });
  t.true(dc.models.some((m) => m.name === 'Skylake-Server' && !m.usable && m.vendor === 'Intel'));
  t.true(dc.models.some((m) => m.name === 'pentium3' && m.usable));
});

test('domcapabilities (qemu/TCG): host-model EPYC', (t) => {
  const dc = parseDomainCapabilities(fx('domcapabilities-qemu.xml'));
  t.is(dc.domainType, 'qemu');
  t.is(dc.hostModel?.model, 'EPYC');
  t.is(dc.hostModel?.vendor, 'AMD');
  t.true(dc.hostModel!.disabled_features.includes('vme'));
  t.true(dc.hostModel!.features.includes('npt'));
});

// ------------------------------------------------------------------ domains

test('dumpxml of a running guest with a local qcow2 disk and drydock metadata', (t) => {
  const d = parseDomainXml(fx('dumpxml-running-localdisk.xml'));
  t.is(d.uuid, '22222222-2222-4222-8222-222222222222');
  t.is(d.name, 'ddlv-g2');
  t.is(d.domainType, 'qemu');
  t.is(d.vcpus, 1);
  t.is(d.memoryBytes, 64 * 1024 * 1024);
  t.true(d.hasDrydockMetadata);
  t.true(d.hotMigration);
  t.true(d.smart);
  t.deepEqual(d.disks, [
    { target: 'vda', device: 'disk', path: '/var/lib/libvirt/images/ddlv-g2.qcow2', type: 'file', format: 'qcow2', readonly: false, pool: '', protocol: '' },
  ]);
  t.is(d.cpu.mode, 'custom');
  t.is(d.cpu.model, 'qemu64');
  t.deepEqual(d.cpu.features, ['hypervisor', 'lahf_lm']);
  t.true(d.cpu.xml.startsWith(`<cpu mode='custom' match='exact' check='full'>`));
  t.true(d.cpu.xml.endsWith('</cpu>'));
});

test('dumpxml: no disks, hot_migration true smart false', (t) => {
  const d = parseDomainXml(fx('dumpxml-running-nodisk.xml'));
  t.deepEqual(d.disks, []);
  t.true(d.hotMigration);
  t.false(d.smart);
});

test('dumpxml of a shut-off host-model guest: empty metadata, read-only empty cdrom', (t) => {
  const d = parseDomainXml(fx('dumpxml-shutoff-hostmodel.xml'));
  t.false(d.hasDrydockMetadata);
  t.false(d.hotMigration);
  t.is(d.memoryBytes, 128 * 1024 * 1024);
  t.is(d.cpu.mode, 'host-model');
  t.is(d.cpu.model, '');
  t.is(d.cpu.xml, `<cpu mode='host-model' check='partial'/>`);
  t.is(d.disks.length, 2);
  t.like(d.disks[0], { target: 'vda', path: '/tmp/ddlv/shared/ddlv-g3.raw', format: 'raw', readonly: false });
  t.like(d.disks[1], { target: 'hdc', device: 'cdrom', path: '', readonly: true });
});

test('dumpxml of a running host-model guest: libvirt shows the expanded CPU (what a target must offer)', (t) => {
  const d = parseDomainXml(fx('dumpxml-running-hostmodel.xml'));
  t.is(d.vcpus, 2);
  t.false(d.hotMigration);
  t.true(d.hasDrydockMetadata);
  t.is(d.cpu.mode, 'custom');
  t.is(d.cpu.model, 'EPYC');
  t.true(d.cpu.features.includes('npt'));
  t.false(d.cpu.features.includes('vme'), 'disabled features are not listed as features');
  t.true(d.cpu.xml.includes(`<vendor>AMD</vendor>`));
});

test('dumpxml: metadata found by namespace whatever the prefix; other metadata ignored', (t) => {
  const xml = `<domain type='kvm'><name>a</name><uuid>AAAAAAAA-1111-4111-8111-111111111111</uuid>
    <metadata><other:x xmlns:other="urn:x" smart="true"/><dd:server xmlns:dd="https://drydock.dev/xmlns/server/1" hot_migration="false" smart="true"/></metadata>
    <memory unit='MiB'>512</memory><vcpu current='2'>4</vcpu>
    <devices><disk type='network' device='disk'><driver type='raw'/><source protocol='rbd' name='pool/img'/><target dev='vda'/></disk>
    <disk type='volume' device='disk'><driver type='qcow2'/><source pool='p1' volume='v1'/><target dev='vdb'/></disk></devices></domain>`;
  const d = parseDomainXml(xml);
  t.is(d.uuid, 'aaaaaaaa-1111-4111-8111-111111111111');
  t.true(d.hasDrydockMetadata);
  t.false(d.hotMigration);
  t.true(d.smart);
  t.is(d.vcpus, 2);
  t.is(d.memoryBytes, 512 * 1024 * 1024);
  t.like(d.disks[0], { type: 'network', protocol: 'rbd', path: '' });
  t.like(d.disks[1], { type: 'volume', pool: 'p1', path: '' });
  t.is(d.cpu.mode, '');
});

test('domstate with and without --reason', (t) => {
  t.deepEqual(parseDomState(fx('domstate-running.txt')), { state: 'SERVER_STATE_RUNNING', reason: '' });
  t.deepEqual(parseDomState(fx('domstate-shutoff.txt')), { state: 'SERVER_STATE_SHUTOFF', reason: '' });
  t.deepEqual(parseDomState(fx('domstate-shutoff-reason.txt')), { state: 'SERVER_STATE_SHUTOFF', reason: 'unknown' });
  t.deepEqual(parseDomState('paused (post-copy)\n\n'), { state: 'SERVER_STATE_PAUSED', reason: 'post-copy' });
  t.deepEqual(parseDomState('in shutdown (user)\n'), { state: 'SERVER_STATE_SHUTDOWN', reason: 'user' });
});

test('list --all --uuid and --name lists', (t) => {
  t.deepEqual(parseUuidList(fx('list-all-uuid.txt')), [
    '11111111-1111-4111-8111-111111111111',
    '22222222-2222-4222-8222-222222222222',
    '33333333-3333-4333-8333-333333333333',
  ]);
  t.deepEqual(parseUuidList('\n'), []);
  t.deepEqual(parseNameList(fx('pool-list-names.txt')), ['default', 'shared']);
});

test('domstats --raw: state, vcpus, balloon, block sizes for running and shut-off domains', (t) => {
  const stats = parseDomStats(fx('domstats.txt'));
  t.deepEqual(
    stats.map((s) => s.name),
    ['ddlv-g2', 'ddlv-g1', 'ddlv-g3'],
  );
  const [g2, g1, g3] = stats;
  t.is(g2!.state, 'SERVER_STATE_RUNNING');
  t.is(g2!.vcpus, 1);
  t.is(g2!.memoryMaxBytes, 64 * 1024 * 1024);
  t.deepEqual(g2!.blocks, [{ name: 'vda', path: '/var/lib/libvirt/images/ddlv-g2.qcow2', allocation: 0, capacity: 67108864, physical: 200704 }]);
  t.deepEqual(g1!.blocks, []);
  t.is(g3!.state, 'SERVER_STATE_SHUTOFF');
  t.is(g3!.blocks.length, 2);
  t.like(g3!.blocks[0], { name: 'vda', allocation: 4096, capacity: 33554432 });
  t.like(g3!.blocks[1], { name: 'hdc', path: '', capacity: 0 });
});

// ------------------------------------------------------------------- jobs

test('domjobinfo --rawstats: no job', (t) => {
  const j = parseDomJobInfo(fx('domjobinfo-none.txt'));
  t.is(j.stats.type, 'none');
  t.is(j.operation, '');
});

test('domjobinfo --rawstats: the first ~second only has time elapsed', (t) => {
  const j = parseDomJobInfo(fx('domjobinfo-early.txt'));
  t.is(j.stats.type, 'unbounded');
  t.is(j.operation, 'migration-out');
  t.is(j.stats.timeElapsedMs, 41);
  t.is(j.stats.dataTotal, 0);
  t.is(j.stats.dataProcessed, 0);
  t.false(j.stats.postCopy);
});

test('domjobinfo --rawstats: memory phase', (t) => {
  const s = parseDomJobInfo(fx('domjobinfo-memory.txt')).stats;
  t.like(s, {
    type: 'unbounded',
    timeElapsedMs: 322,
    dataTotal: 67502080,
    dataProcessed: 213629,
    dataRemaining: 24334336,
    memoryBandwidth: 1078178,
    iteration: 1,
    downtimeMs: 300,
    diskTotal: 0,
  });
});

test('domjobinfo --rawstats: disk copy phase (copy-storage)', (t) => {
  const s = parseDomJobInfo(fx('domjobinfo-disk-copy.txt')).stats;
  t.like(s, { type: 'unbounded', diskTotal: 134217728, diskProcessed: 16777216, diskRemaining: 117440512, memoryTotal: 0 });
  t.is(parseDomJobInfo(fx('domjobinfo-before-abort.txt')).stats.type, 'unbounded');
});

test('domjobinfo --completed on the target; post-copy comes from the caller', (t) => {
  const j = parseDomJobInfo(fx('domjobinfo-completed-target.txt'), true);
  t.is(j.stats.type, 'completed');
  t.is(j.operation, 'migration-in');
  t.like(j.stats, { timeElapsedMs: 219, downtimeMs: 27, memoryBandwidth: 51625916, iteration: 2, dataRemaining: 0, postCopy: true });
});

// ------------------------------------------------------------------- node

test('version, nodeinfo, nodememstats, freecell', (t) => {
  t.deepEqual(parseVersion(fx('version.txt')), { libvirt: '9.0.0', hypervisor: 'QEMU', hypervisorVersion: '7.2.22' });
  t.deepEqual(parseNodeInfo(fx('nodeinfo.txt')), {
    cpuModel: 'x86_64',
    cpus: 2,
    mhz: 2200,
    sockets: 1,
    coresPerSocket: 2,
    threadsPerCore: 1,
    numaCells: 1,
    memoryBytes: 4548384 * 1024,
  });
  const mem = parseNodeMemStats(fx('nodememstats.txt'));
  t.is(mem.totalBytes, 24683656 * 1024);
  t.is(mem.freeBytes, 24295972 * 1024);
  t.is(mem.availableBytes, (24295972 + 3136 + 209780) * 1024);
  t.deepEqual(parseFreeCell(fx('freecell.txt')), { cells: [{ cell: 0, freeBytes: 4158736 * 1024 }], totalFreeBytes: 4158736 * 1024 });
});

// ---------------------------------------------------------------- storage

test('pool-dumpxml: dir and netfs pools', (t) => {
  t.deepEqual(parsePoolXml(fx('pool-dir.xml')), {
    name: 'default',
    uuid: 'b970ba0a-0d69-4cd3-9bd6-d3f56beab0ad',
    type: 'dir',
    path: '/var/lib/libvirt/images',
    capacityBytes: 270553174016,
    allocationBytes: 23463878656,
    availableBytes: 247089295360,
    sourceHost: '',
  });
  t.like(parsePoolXml(fx('pool-netfs.xml')), { type: 'netfs', path: '/mnt/ddlv-nfs', sourceHost: '10.98.0.1' });
});

test('vol-info --bytes, vol-dumpxml, domblkinfo', (t) => {
  t.like(parseVolInfo(fx('vol-info.txt')), { name: 'ddlv-g2.qcow2', type: 'file', capacityBytes: 67108864, allocationBytes: 200704 });
  t.like(parseVolXml(fx('vol-dumpxml.xml')), {
    name: 'ddlv-g2.qcow2',
    format: 'qcow2',
    path: '/var/lib/libvirt/images/ddlv-g2.qcow2',
    capacityBytes: 67108864,
  });
  t.deepEqual(parseDomBlkInfo(fx('domblkinfo.txt')), { capacityBytes: 33554432, allocationBytes: 4096, physicalBytes: 33554432 });
});

// -------------------------------------------------------------------- CPU

test('hypervisor-cpu-compare output: identical, superset, incompatible', (t) => {
  t.is(parseCpuCompareOutput(fx('cpu-compare-identical.txt')), 'CPU_COMPARE_RESULT_IDENTICAL');
  t.is(parseCpuCompareOutput(fx('cpu-compare-superset.txt')), 'CPU_COMPARE_RESULT_SUPERSET');
  t.is(parseCpuCompareOutput(fx('cpu-compare-incompatible.txt')), 'CPU_COMPARE_RESULT_INCOMPATIBLE');
  t.is(parseCpuCompareOutput('something else'), 'CPU_COMPARE_RESULT_UNSPECIFIED');
});

test('hypervisor-cpu-baseline output (TCG): Skylake-Server + Haswell-noTSX → Haswell-noTSX; + Westmere → Westmere', (t) => {
  const a = parseCpuBaseline(fx('cpu-baseline-skylake-haswell.xml'), 'x86_64');
  t.is(a.model, 'Haswell-noTSX');
  t.is(a.vendor, 'Intel');
  t.is(a.arch, 'x86_64');
  t.deepEqual(a.disabled_features, ['pcid', 'x2apic', 'tsc-deadline', 'invpcid']);
  t.true(a.xml.startsWith(`<cpu mode='custom' match='exact'>`));
  const b = parseCpuBaseline(fx('cpu-baseline-skylake-haswell-westmere.xml'));
  t.is(b.model, 'Westmere');
  t.deepEqual(b.features, []);
  const e = parseCpuBaseline(fx('cpu-baseline-expanded.xml'));
  t.is(e.model, 'Westmere');
  t.true(e.features.length > 20, 'expanded baseline lists every feature');
  // Nested KVM on this machine offers fewer features: libvirt falls back to Conroe.
  t.is(parseCpuBaseline(fx('cpu-baseline-kvm-nested.xml')).model, 'Conroe');
});

test('CPU model fixtures built from cpu_map parse with their vendor and features', (t) => {
  const expect: Record<string, [string, number]> = {
    'Skylake-Server': ['Intel', 70],
    'Cascadelake-Server': ['Intel', 74],
    'Haswell-noTSX': ['Intel', 48],
    Westmere: ['Intel', 32],
    EPYC: ['AMD', 66],
    'EPYC-Rome': ['AMD', 76],
  };
  for (const [model, [vendor, n]] of Object.entries(expect)) {
    const c = parseCpuXml(fx(`cpu/${model}.xml`));
    t.is(c.model, model);
    t.is(c.vendor, vendor);
    t.is(c.arch, 'x86_64');
    t.is(c.features.length, n, model);
  }
});

test('splitCpuXmls and buildCpuXml escape and split', (t) => {
  const two = fx('cpu/Westmere.xml') + fx('cpu/EPYC.xml');
  t.is(splitCpuXmls(two).length, 2);
  t.is(splitCpuXmls('<cpu mode="host-model"/>').length, 1);
  const xml = buildCpuXml({ model: 'a<b', vendor: 'V&', features: ["x'y"], disabled_features: [] });
  t.true(xml.includes('a&lt;b') && xml.includes('V&amp;') && xml.includes('x&apos;y'));
  t.is(parseCpuXml(xml).model, 'a<b');
});

test('xml helpers: extractElement, scaled units', (t) => {
  t.is(extractElement('<a><cpux/><cpu m="1"><b/></cpu></a>', 'cpu'), '<cpu m="1"><b/></cpu>');
  t.is(extractElement('<a/>', 'cpu'), '');
  const n = parseXml(`<r><m unit='MiB'>2</m><b unit='bytes'>7</b><k>3</k></r>`).r;
  t.is(scaled(child(n, 'm')), 2 * 1024 * 1024);
  t.is(scaled(child(n, 'b')), 7);
  t.is(scaled(child(n, 'k')), 3 * 1024);
});

// ----------------------------------------------------------------- events

test('event --loop --timestamp lines → DomainEvent, job-completed statistics attached', (t) => {
  const p = new EventLineParser();
  const out = [];
  for (const line of fx('events-migration-source.txt').split('\n')) out.push(...p.feed(line));
  out.push(...p.flush());
  t.deepEqual(
    out.map((e) => `${e.event}|${e.name}|${e.detail.split(';')[0]}`),
    [
      "migration-iteration|ddlv-g1|iteration: '1'",
      'lifecycle|ddlv-g1|Suspended Migrated',
      "migration-iteration|ddlv-g1|iteration: '2'",
      'lifecycle|ddlv-g1|Stopped Migrated',
      'job-completed|ddlv-g1|operation: 5',
    ],
  );
  t.is(out[0]!.atMs, Date.parse('2026-11-25T09:45:28.817Z'));
  t.true(out[4]!.detail.includes('time_elapsed: 3813'));

  const q = new EventLineParser();
  const target = fx('events-migration-target.txt')
    .split('\n')
    .flatMap((l) => q.feed(l))
    .concat(q.flush());
  t.deepEqual(
    target.map((e) => e.detail),
    ['Started Migrated', 'Defined Added', 'Resumed Migrated'],
  );
  t.deepEqual(new EventLineParser().feed("event 'reboot' for domain 'x'", 5), []);
});

// ----------------------------------------------------------------- errors

const errorCases: [string, new (...a: never[]) => Error, number][] = [
  ['errors/domain-not-found-uuid.txt', ServerNotFoundError, status.NOT_FOUND],
  ['errors/failed-to-get-domain.txt', ServerNotFoundError, status.NOT_FOUND],
  ['errors/same-host.txt', SameHostError, status.INVALID_ARGUMENT],
  ['errors/unsafe-migration.txt', UnsafeMigrationError, status.FAILED_PRECONDITION],
  ['errors/migration-aborted.txt', MigrationAbortedError, status.ABORTED],
  ['errors/domain-not-running.txt', DomainNotRunningError, status.FAILED_PRECONDITION],
  ['errors/destroy-not-running.txt', DomainNotRunningError, status.FAILED_PRECONDITION],
  ['errors/shutdown-not-running.txt', DomainNotRunningError, status.FAILED_PRECONDITION],
  ['errors/already-running.txt', DomainRunningError, status.FAILED_PRECONDITION],
  ['errors/abort-no-job.txt', OperationInvalidError, status.FAILED_PRECONDITION],
  ['errors/postcopy-no-job.txt', OperationInvalidError, status.FAILED_PRECONDITION],
  ['errors/local-daemon-down.txt', HypervisorUnavailableError, status.UNAVAILABLE],
  ['errors/vol-not-found.txt', StorageNotFoundError, status.NOT_FOUND],
  ['errors/pool-not-found.txt', StorageNotFoundError, status.NOT_FOUND],
  ['errors/cpu-incompatible-features.txt', CpuIncompatibleError, status.FAILED_PRECONDITION],
  ['errors/cpu-incompatible-vendor.txt', CpuIncompatibleError, status.FAILED_PRECONDITION],
  ['errors/cpu-unknown-model.txt', InvalidDefinitionError, status.INVALID_ARGUMENT],
  ['errors/cpu-baseline-vendors.txt', NoCommonCpuError, status.FAILED_PRECONDITION],
  ['errors/cpu-malformed-xml.txt', InvalidDefinitionError, status.INVALID_ARGUMENT],
];

for (const [file, cls, code] of errorCases) {
  test(`parseLibvirtError: ${file} → ${cls.name}`, (t) => {
    const err = parseLibvirtError(fx(file), { command: 'x', domain: 'ddlv-g1' });
    t.true(err instanceof cls, `${err.name}: ${err.message}`);
    t.is(err.code, code);
    t.false(/(^|; )error:/.test(err.message), 'virsh prefixes are stripped');
  });
}

test('parseLibvirtError: unreachable and refused targets during migrate are TargetUnreachableError', (t) => {
  const target = 'qemu+tcp://10.98.0.250/system';
  const e = parseLibvirtError(fx('errors/unreachable-no-route.txt'), { command: 'migrate', uri: 'qemu:///system', targetUri: target });
  t.true(e instanceof TargetUnreachableError);
  t.is(e.code, status.UNAVAILABLE);
  t.is((e as TargetUnreachableError).targetUri, target);
  t.true(parseLibvirtError(fx('errors/connection-refused.txt'), { command: 'migrate', targetUri: target }) instanceof TargetUnreachableError);
  // Without context the address in the message names the target.
  t.is((parseLibvirtError(fx('errors/unreachable-no-route.txt')) as TargetUnreachableError).targetUri, '10.98.0.250:16509');
});

test('parseLibvirtError: our own daemon unreachable is HypervisorUnavailableError, a peer asked directly is the target', (t) => {
  const local = "error: failed to connect to the hypervisor\nerror: unable to connect to server at '10.99.0.2:16509': Connection refused\n";
  t.true(
    parseLibvirtError(local, { command: 'migrate', uri: 'qemu+tcp://10.99.0.2/system', targetUri: 'qemu+tcp://10.99.0.3/system' }) instanceof
      HypervisorUnavailableError,
  );
  t.true(
    parseLibvirtError(local, { command: 'start', uri: 'qemu+tcp://10.99.0.3/system', targetUri: 'qemu+tcp://10.99.0.3/system' }) instanceof
      TargetUnreachableError,
  );
});

test('parseLibvirtError: CPU incompatibility carries the missing features', (t) => {
  const e = parseLibvirtError(fx('errors/cpu-incompatible-features.txt')) as CpuIncompatibleError;
  t.deepEqual(e.missingFeatures, ['vme', 'rdseed', 'sha-ni', 'xsavec', 'fxsr_opt', 'misalignsse', '3dnowprefetch', 'osvw']);
  t.deepEqual((parseLibvirtError(fx('errors/cpu-incompatible-vendor.txt')) as CpuIncompatibleError).missingFeatures, []);
});

test('parseLibvirtError: the abort text in docs/field-notes.md also maps to MigrationAbortedError', (t) => {
  t.true(parseLibvirtError("error: operation aborted: job 'migration out' canceled by client") instanceof MigrationAbortedError);
});

test('parseLibvirtError: a domain held by another job is DomainBusyError (UNAVAILABLE, retryable)', (t) => {
  // Text from libvirt's qemu_domainjob.c (not captured here: it needs two clients racing for one domain).
  const e = parseLibvirtError(
    'error: Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainMigratePerform3Params)',
  );
  t.true(e instanceof DomainBusyError);
  t.is(e.code, status.UNAVAILABLE);
});

test('parseLibvirtError: anything else is LibvirtError (INTERNAL) with the raw message', (t) => {
  const e = parseLibvirtError('error: something new\nerror: and odd\n', { command: 'foo', domain: 'd' });
  t.true(e instanceof LibvirtError);
  t.is(e.code, status.INTERNAL);
  t.is((e as LibvirtError).rawMessage, 'something new; and odd');
  t.is(e.details.command, 'foo');
  t.is(e.details.domain, 'd');
});

// ------------------------------------------------- runner and classification

test('Virsh builds argument arrays with the prefix and validates URIs', (t) => {
  const v = new Virsh({ uri: 'qemu:///system', prefix: ['nsenter', '-t', '1', '-m', '-n', '--'] });
  t.deepEqual(v.argv(['list', '--all']), ['nsenter', '-t', '1', '-m', '-n', '--', 'virsh', '-c', 'qemu:///system', 'list', '--all']);
  t.throws(() => new Virsh({ uri: 'qemu:///system; rm -rf /' }), { name: 'InvalidArgumentError' });
});

test('Virsh: a call past its deadline is killed with a DeadlineExceeded error', async (t) => {
  // The prefix runs `sleep 5` and ignores the virsh argv after it.
  const s = new Virsh({ uri: 'qemu:///system', prefix: ['sh', '-c', 'sleep 5', 'sh'] });
  const t0 = Date.now();
  const err = await t.throwsAsync(s.run(['list'], { timeoutMs: 200 }));
  t.is(err?.name, 'VirshTimeoutError');
  t.is((err as { code?: number }).code, status.DEADLINE_EXCEEDED);
  t.true(Date.now() - t0 < 2000);
});

test('Virsh: an aborted signal kills the call with CancelledError', async (t) => {
  const s = new Virsh({ uri: 'qemu:///system', prefix: ['sh', '-c', 'sleep 5', 'sh'] });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const err = await t.throwsAsync(s.run(['list'], { signal: ac.signal }));
  t.is(err?.name, 'CancelledError');
  t.is((err as { code?: number }).code, status.CANCELLED);
});

test('Virsh: non-zero exit hands stderr to the error parser', async (t) => {
  const s = new Virsh({ uri: 'qemu:///system', prefix: ['sh', '-c', `echo "error: failed to get domain 'x'" >&2; exit 1`, 'sh'] });
  const err = await t.throwsAsync(s.run(['dominfo', 'x'], { context: { domain: 'x' } }));
  t.true(err instanceof ServerNotFoundError);
});

test('a local libvirtd that is not there: HypervisorUnavailableError (UNAVAILABLE) from real virsh', async (t) => {
  // Port 1 on loopback: nothing listens (a ?socket= path is no longer accepted, common/uri.ts).
  const h = new LibvirtHypervisor({ uri: 'qemu+tcp://127.0.0.1:1/system', migrationUri: 'qemu+tcp://10.99.0.2/system' });
  const err = await t.throwsAsync(h.listServers());
  t.true(err instanceof HypervisorUnavailableError, `${err?.name}: ${err?.message}`);
  t.is((err as HypervisorUnavailableError).code, status.UNAVAILABLE);
});

test('assertHostPath refuses relative, dotted and odd paths', (t) => {
  t.is(assertHostPath('p', '/var/lib/libvirt/images/a.qcow2'), '/var/lib/libvirt/images/a.qcow2');
  for (const bad of ['a.qcow2', '/var/../etc/passwd', '/var//x', '/var/x/', '', '/x\ny']) {
    t.throws(() => assertHostPath('p', bad), { name: 'InvalidArgumentError' }, JSON.stringify(bad));
  }
});

test('disk sharing and migrate disk flags: copy only local disks, --unsafe only for declared shared paths', (t) => {
  const h = new LibvirtHypervisor({ migrationUri: 'qemu+tcp://10.99.0.2/system', sharedPaths: ['/srv/shared'] });
  const pools = [
    {
      name: 'default',
      uuid: '',
      type: 'dir',
      path: '/var/lib/libvirt/images',
      capacityBytes: 0,
      allocationBytes: 0,
      availableBytes: 0,
      sourceHost: '',
      active: true,
      shared: false,
    },
    {
      name: 'nfs',
      uuid: '',
      type: 'netfs',
      path: '/mnt/nfs',
      capacityBytes: 0,
      allocationBytes: 0,
      availableBytes: 0,
      sourceHost: 'x',
      active: true,
      shared: true,
    },
  ];
  const disk = (target: string, path: string, type = 'file', readonly = false) => ({
    target,
    path,
    type,
    readonly,
    capacity_bytes: 0,
    allocation_bytes: 0,
    pool: '',
    shared: false,
    format: 'raw',
  });
  const server = (disks: ReturnType<typeof disk>[]): Server => ({
    uuid: '11111111-1111-4111-8111-111111111111',
    name: 's',
    state: 'SERVER_STATE_RUNNING',
    vcpus: 1,
    memory_bytes: 1,
    disks,
    cpu: null,
    hot_migration: true,
    smart: false,
    persistent: true,
    domain_type: 'qemu',
  });
  // The migrate flags of the plan the hypervisor makes of a server's disks (agent/hypervisor/disk-plan.ts).
  const flags = (s: Server, p: typeof pools, copyStorage: boolean, unsafe: boolean) =>
    liveDiskFlags(
      s.uuid,
      planDisks(s.disks, (d) => h.diskSharing(d, p)),
      { copyStorage, unsafe },
    );
  t.is(h.diskSharing(disk('vda', '/var/lib/libvirt/images/a'), pools), 'local');
  t.is(h.diskSharing(disk('vda', '/mnt/nfs/a'), pools), 'network');
  t.is(h.diskSharing(disk('vda', '/srv/shared/a'), pools), 'declared');
  t.is(h.diskSharing(disk('vda', '/srv/shared2/a'), pools), 'local', 'prefix match is by directory');
  t.is(h.diskSharing(disk('vda', '', 'network'), pools), 'network');
  t.is(h.diskSharing(disk('hdc', ''), pools), 'none');

  t.deepEqual(flags(server([]), pools, false, true), []);
  t.deepEqual(flags(server([disk('vda', '/mnt/nfs/a')]), pools, false, true), []);
  t.deepEqual(flags(server([disk('vda', '/srv/shared/a')]), pools, false, true), ['--unsafe']);
  t.deepEqual(flags(server([disk('vda', '/var/lib/libvirt/images/a'), disk('vdb', '/srv/shared/b')]), pools, true, true), [
    '--copy-storage-all',
    '--migrate-disks',
    'vda',
    '--unsafe',
  ]);
  t.deepEqual(flags(server([disk('vda', '/var/lib/libvirt/images/a'), disk('hdc', '/isos/x.iso', 'file', true)]), pools, true, true), [
    '--copy-storage-all',
    '--migrate-disks',
    'vda',
  ]);
  t.throws(() => flags(server([disk('vda', '/var/lib/libvirt/images/a')]), pools, false, true), { instanceOf: UnsafeMigrationError });
  t.throws(() => flags(server([disk('vda', '/srv/shared/a')]), pools, false, false), { instanceOf: UnsafeMigrationError });
  t.deepEqual(flags(server([disk('vda', '/mnt/nfs/a')]), pools, false, false), [], 'network storage needs no permission');
});

test("migrateLive follows the disk plan it is given: one virsh call (migrate with the plan's flags), the domain is not read again", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-virsh-calls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const calls = path.join(dir, 'calls');
  // Stands in for virsh: records each call's argv (one line each) and succeeds with no output.
  const h = new LibvirtHypervisor({ migrationUri: 'qemu+tcp://10.99.0.1/system', prefix: ['sh', '-c', 'echo "$@" >> "$0"', calls], readSessions: 0 });
  const uuid = '11111111-1111-4111-8111-111111111111';
  await h.migrateLive({
    uuid,
    targetUri: 'qemu+tcp://10.99.0.2/system',
    disks: { local: [], declared: true },
    copyStorage: false,
    unsafe: true,
    postCopy: false,
    autoConverge: false,
    bandwidthMiBps: 0,
    signal: new AbortController().signal,
  });
  t.deepEqual(readFileSync(calls, 'utf8').trim().split('\n'), [
    `virsh -c qemu:///system migrate --live --p2p --persistent --undefinesource --unsafe --domain ${uuid} --desturi qemu+tcp://10.99.0.2/system`,
  ]);
});

test('stateOn asks the target one domstate: its power state, or null when the domain is unknown there', async (t) => {
  const uuid = '11111111-1111-4111-8111-111111111111';
  const on = (script: string) => new LibvirtHypervisor({ migrationUri: 'qemu+tcp://10.99.0.1/system', prefix: ['sh', '-c', script, 'sh'], readSessions: 0 });
  t.is(
    await on('[ "$3" = qemu+tcp://10.99.0.2/system ] && [ "$4" = domstate ] && echo "shut off"').stateOn('qemu+tcp://10.99.0.2/system', uuid),
    'SERVER_STATE_SHUTOFF',
  );
  t.is(await on(`echo "error: failed to get domain '${uuid}'" >&2; exit 1`).stateOn('qemu+tcp://10.99.0.2/system', uuid), null);
  await t.throwsAsync(on('exit 0').stateOn('qemu+tcp://10.99.0.2/system?command=/bin/sh', uuid), { name: 'InvalidArgumentError' });
});

test('LibvirtHypervisor validates every identifier before virsh runs', async (t) => {
  const h = new LibvirtHypervisor({ migrationUri: 'qemu+tcp://10.99.0.2/system', prefix: ['false'], readSessions: 0 });
  await t.throwsAsync(h.getServer('x; rm -rf /'), { name: 'InvalidArgumentError' });
  await t.throwsAsync(h.getServer('--all'), { name: 'InvalidArgumentError' });
  await t.throwsAsync(h.abortJob('not-a-uuid'), { name: 'InvalidArgumentError' });
  await t.throwsAsync(h.migrateOffline('11111111-1111-4111-8111-111111111111', 'qemu+tcp://x/system;id'), { name: 'InvalidArgumentError' });
  await t.throwsAsync(h.startOn('http://evil/', '11111111-1111-4111-8111-111111111111'), { name: 'InvalidArgumentError' });
  await t.throwsAsync(h.removeLocalDisk('../x'), { name: 'InvalidArgumentError' });
  await t.throwsAsync(h.compareCpu('<cpu/><cpu/>'), { name: 'InvalidArgumentError' });
  await t.throwsAsync(h.baselineCpu([], { migratable: false, expandFeatures: false }), { name: 'InvalidArgumentError' });
});
