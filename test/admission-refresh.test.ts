// The admitted-hosts set is refreshed every 30 s in case a change message was
// missed; a refresh with nothing new must not re-read every admitted host's
// record (5,000 gets every 30 s at 5,000 hosts: issue 13 target 5). A change,
// admission or revoke, is still picked up. Real nats-server and KV.
import test from 'ava';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admission, admitHost, revokeHost } from '../coordinator/admission.ts';
import { openStore } from '../coordinator/store/store.ts';
import { silentLogger } from '../common/logging.ts';
import { startTestNats } from '../harness/test-nats.ts';
import { tempDir, waitFor } from '../harness/coordinator-helpers.ts';

test('periodic refreshes at an unchanged bucket read no records; admissions and revokes still arrive', async (t) => {
  const dir = tempDir('admission-refresh');
  const tn = await startTestNats({ dir, hosts: ['ar-1', 'ar-2'] });
  const nc = await tn.connect();
  t.teardown(async () => {
    await nc.close();
    await tn.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const repo = (await openStore(nc, { replicas: 1 })).admittedHosts;
  let lists = 0;
  const counted = Object.assign(Object.create(repo) as typeof repo, {
    list: (signal?: AbortSignal) => {
      lists++;
      return repo.list(signal);
    },
  });
  const admission = new Admission(counted, nc, silentLogger(), 50);
  await admission.start();
  t.teardown(() => admission.stop());
  t.true(admission.isAdmitted('ar-1') && admission.isAdmitted('ar-2'));
  await sleep(600); // about 12 periodic refreshes
  t.is(lists, 1, 'only the first load read the records');

  await admitHost(repo, 'ar-3', 'UAXYZ', 'test');
  await waitFor('ar-3 admitted', () => admission.isAdmitted('ar-3'), 5000);
  await revokeHost(repo, 'ar-1');
  await waitFor('ar-1 revoked', () => !admission.isAdmitted('ar-1'), 5000);
  const after = lists;
  await sleep(300);
  t.is(lists, after, 'quiet again once the changes are read');
});
