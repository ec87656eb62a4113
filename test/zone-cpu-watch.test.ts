// The zone member watch is idle when nothing changed (issue 13 target 5):
// a pass at the same zone and host revisions as a pass that found nothing to
// do does not walk the hosts again; a change of revision, or a recompute that
// failed, makes the next pass run. Pure loop logic: a fake read model.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchZoneMembers } from '../coordinator/zone-cpu/members-watch.ts';
import { silentLogger } from '../common/logging.ts';
import type { ReadModel } from '../coordinator/reads/read-model.ts';
import type { ZoneCpuService } from '../coordinator/zone-cpu/recompute.ts';
import type { HostRecord, ZoneRecord } from '../coordinator/model.ts';

function fakeReads(zones: ZoneRecord[], hosts: HostRecord[]) {
  const r = {
    walks: 0,
    hostRevision: 1,
    zones: { revision: 1, values: () => zones.map((z) => ({ key: z.id, value: z, revision: 1 }))[Symbol.iterator]() },
    hosts: {
      get revision() {
        return r.hostRevision;
      },
      values: () => {
        r.walks++;
        return hosts.map((h) => ({ key: h.id, value: h, revision: 1 }))[Symbol.iterator]();
      },
    },
    sync: async () => undefined,
  };
  return r;
}

const zone = (id: string, tracked: boolean) =>
  ({ id, cpuMode: 'HOST_MODEL', cpu: tracked ? { tracking: { members: [], mode: 'HOST_MODEL', allFeatures: [], hosts: {} } } : {} }) as unknown as ZoneRecord;
const host = (id: string, zoneId: string) => ({ id, zoneId, maintenance: 'none', cpu: { xml: '' } }) as unknown as HostRecord;

test('no change, no walk: passes at the same revisions are skipped; a new host revision runs one', async (t) => {
  const reads = fakeReads([zone('z1', true)], []);
  const stop = new AbortController();
  const service = { recompute: async () => Promise.reject(new Error('not expected')) } as unknown as ZoneCpuService;
  const loop = watchZoneMembers({ reads: reads as unknown as ReadModel, service, logger: silentLogger(), intervalMs: 5 }, stop.signal);
  t.teardown(() => stop.abort());
  await sleep(150);
  t.is(reads.walks, 1, 'one walk for many passes at the same revisions');
  reads.hostRevision = 2;
  await sleep(100);
  t.is(reads.walks, 2);
  stop.abort();
  await loop;
});

test('a failed recompute is retried at the next pass, revisions unchanged', async (t) => {
  const reads = fakeReads([zone('z1', true)], [host('h1', 'z1')]);
  const stop = new AbortController();
  let attempts = 0;
  const service = {
    recompute: async () => {
      attempts++;
      throw new Error('no healthy agent');
    },
  } as unknown as ZoneCpuService;
  const loop = watchZoneMembers({ reads: reads as unknown as ReadModel, service, logger: silentLogger(), intervalMs: 5 }, stop.signal);
  t.teardown(() => stop.abort());
  await sleep(150);
  t.true(attempts >= 3, `retried ${attempts} times`);
  stop.abort();
  await loop;
});
