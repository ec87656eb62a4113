// A host as the admin API renders it (coordinator/admin/convert.ts
// hostToProto): free memory from a heartbeat when given, passed apart from
// the record (the record is not copied per host any more), and the reasons
// a host is not a target from the fields they depend on.
import test from 'ava';
import { hostToProto } from '../coordinator/admin/convert.ts';
import type { HostRecord, ZoneRecord } from '../coordinator/model.ts';

const host = (over: Partial<HostRecord> = {}) =>
  ({
    id: 'h1',
    hostname: 'h1.example.net',
    zoneId: 'z1',
    label: '',
    enabled: true,
    storageCluster: 'sc1',
    hypervisorType: 'kvm',
    grpcEndpoint: '127.0.0.1:7443',
    migrationUri: 'qemu+tls://h1/system',
    incarnation: 'i',
    bootId: 'b',
    cpu: { arch: 'x86_64', vendor: 'Intel', model: 'Haswell', features: ['sse4.2', 'avx'], disabled_features: [], xml: '' },
    topology: { sockets: 1, cores_per_socket: 4, threads_per_core: 2, logical_cpus: 8 },
    memoryTotalBytes: 64,
    memoryFreeBytes: 32,
    storagePools: [],
    libvirtVersion: '9.0.0',
    qemuVersion: '7.2.0',
    maintenance: 'none',
    maintenanceOpId: '',
    registeredAtMs: 1,
    factsAtMs: 1,
    ...over,
  }) as HostRecord;
const zone = {
  id: 'z1',
  cpuMode: 'HOST_MODEL',
  cpu: { model: '', vendor: '', features: [], extraFeatures: [], xml: '', history: [], advice: [], mismatchedHosts: [] },
} as unknown as ZoneRecord;

test("free memory: the heartbeat's when given, else the record's; the record is left as it was", (t) => {
  const h = host();
  t.is(hostToProto({ host: h, zone, online: true, lastHeartbeatMs: 5, serverCount: 0, memoryFreeBytes: 7 }).memory_free_bytes, 7);
  t.is(hostToProto({ host: h, zone, online: true, lastHeartbeatMs: 5, serverCount: 0 }).memory_free_bytes, 32);
  t.is(h.memoryFreeBytes, 32);
});

test('not a target because: each reason from its field', (t) => {
  const why = (over: Partial<HostRecord>, online = true) =>
    hostToProto({ host: host(over), zone, online, lastHeartbeatMs: 0, serverCount: 0 }).not_a_target_because;
  t.deepEqual(why({}), []);
  t.deepEqual(why({}, false), ['offline']);
  t.deepEqual(why({ enabled: false }), ['disabled (Enabled switch off)']);
  t.deepEqual(why({ maintenance: 'in_maintenance' }), ['maintenance: in_maintenance']);
  t.deepEqual(why({ zoneId: '' }), ['not assigned to a compute zone']);
  t.deepEqual(why({ hypervisorType: 'xen' }), ['not a KVM compute resource (xen)']);
});

test('the CPU view carries the host model and vendor, and its own flags in order', (t) => {
  const cpu = hostToProto({ host: host(), zone, online: true, lastHeartbeatMs: 0, serverCount: 0 }).cpu!;
  t.is(cpu.model, 'Haswell');
  t.is(cpu.vendor, 'Intel');
  t.deepEqual(cpu.host_flags, ['avx', 'sse4.2']);
  const none = hostToProto({ host: host(), zone: null, online: true, lastHeartbeatMs: 0, serverCount: 0 }).cpu!;
  t.is(none.model, 'Haswell');
  t.deepEqual(none.host_flags, ['avx', 'sse4.2']);
});
