// A zone CPU recompute takes the zone's hosts from the read model, synced
// first, not from a read of every host record in KV: at 5,000 hosts the
// first member pass after a start cost 5,000 KV gets per zone (50,000 over
// 10 zones, 20-30 s of a loaded coordinator's CPU, every admin read waiting
// behind it). The sync keeps what the KV read gave: a host written just
// before the recompute is in it.
import test from 'ava';
import { rmSync } from 'node:fs';
import { startTestNats } from '../harness/test-nats.ts';
import { tempDir } from '../harness/coordinator-helpers.ts';
import { openStore } from '../coordinator/store/store.ts';
import { ReadModel } from '../coordinator/reads/read-model.ts';
import { ZoneCpuService } from '../coordinator/zone-cpu/recompute.ts';
import type { ZoneCpuAgents } from '../coordinator/zone-cpu/zone-agents.ts';
import { trackingOf } from '../coordinator/zone-cpu/tracking.ts';
import { silentLogger } from '../common/logging.ts';
import type { HostRecord, ZoneRecord } from '../coordinator/model.ts';

const zone = (id: string) =>
  ({
    id,
    name: id,
    description: '',
    cpuMode: 'HOST_MODEL',
    policy: {},
    cpu: { model: '', vendor: '', features: [], extraFeatures: [], xml: '', history: [], advice: [], mismatchedHosts: [], updatedAtMs: 0 },
    createdAtMs: 0,
    updatedAtMs: 0,
  }) as unknown as ZoneRecord;
const host = (id: string, zoneId: string) =>
  ({
    id,
    zoneId,
    hostname: id,
    maintenance: 'none',
    grpcEndpoint: '',
    cpu: { arch: 'x86_64', vendor: 'Intel', model: 'Haswell', features: [], xml: '' },
  }) as unknown as HostRecord;

test('a recompute reads no host record from KV, and sees a host written just before it', async (t) => {
  const dir = tempDir('zone-cpu-reads');
  const tn = await startTestNats({ dir });
  const nc = await tn.connect();
  t.teardown(async () => {
    await nc.close();
    await tn.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const store = await openStore(nc, { replicas: 1 });
  await store.zones.create('z1', zone('z1'));
  await store.zones.create('z2', zone('z2'));
  for (let i = 0; i < 60; i++) await store.hosts.create(`h${String(i).padStart(2, '0')}`, host(`h${String(i).padStart(2, '0')}`, i % 2 ? 'z1' : 'z2'));
  const reads = new ReadModel(store, silentLogger());
  await reads.start();
  t.teardown(() => reads.stop());
  const service = new ZoneCpuService({
    store,
    reads,
    inventory: { hostLiveness: () => null, refreshHost: async () => undefined },
    agents: {} as ZoneCpuAgents,
    logger: silentLogger(),
  });
  // Written after the read model loaded: the recompute's sync must bring it in.
  await store.hosts.create('h99', host('h99', 'z1'));
  let gets = 0;
  const get = store.hosts.get.bind(store.hosts);
  store.hosts.get = (...args) => {
    gets++;
    return get(...args);
  };
  const out = await service.recompute('z1', { reason: 'host-joined', joined: ['h99'] });
  t.deepEqual(trackingOf(out.zone).members, [...Array.from({ length: 30 }, (_, i) => `h${String(2 * i + 1).padStart(2, '0')}`), 'h99']);
  t.is(gets, 0, 'no host record read from KV');
});
