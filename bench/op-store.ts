// Cost of one step update of a large operation: the old layout (one KV
// record holding every step, rewritten whole through Repository.mutate, as
// coordinator/operations/op-store.ts did before steps were stored apart)
// against the current OperationStore (header + one key per step), side by
// side on one real nats-server. Two kinds of update, as a drain makes them:
// a progress report (the step alone changes) and a step ending (the step
// and the header's counts). Bytes are the KV values written (counted at the
// KV), time is wall per update. Events are not published (the same cost on
// both sides).
// Run: npx tsx bench/op-store.ts [steps=500] [updates=200]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KV } from 'nats';
import { startTestNats } from '../harness/test-nats.ts';
import { openStore } from '../coordinator/store/store.ts';
import { Repository } from '../coordinator/store/repository.ts';
import { OperationStore } from '../coordinator/operations/op-store.ts';
import type { OperationEventLog } from '../coordinator/operations/events.ts';
import type { ActiveEntry, OperationHeader, StoredStep } from '../coordinator/operations/op-layout.ts';
import type { OperationRecord, StepRecord } from '../coordinator/operations/types.ts';
import { drainRecord, stepRecord } from '../harness/operation-records.ts';
import { recordResult } from './result.ts';

const STEPS = Math.max(10, Number(process.argv[2] ?? 500) || 500);
const UPDATES = Math.max(10, Number(process.argv[3] ?? 200) || 200);

/** The KV with every written value's size added to `bytes`. */
function counting(kv: KV, meter: { bytes: number }): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'update' || prop === 'create' || prop === 'put')
        return (key: string, data: Uint8Array, ...rest: unknown[]) => {
          meter.bytes += data.length;
          return (v as (...a: unknown[]) => unknown).call(target, key, data, ...rest);
        };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function step(i: number): StepRecord {
  // About the size of a real step: a longer name and reason.
  return stepRecord(i, {
    serverName: `server-${String(i).padStart(4, '0')}`,
    sourceHostId: 'kvm-001',
    etaSeconds: 30,
    memoryBytes: 4 * 1024 ** 3,
    vcpus: 2,
    reason: 'fits: 12 GiB free, cpu ok, same storage cluster ceph-a',
  });
}

function operation(id: string): OperationRecord {
  return drainRecord(
    id,
    Array.from({ length: STEPS }, (_, i) => step(i)),
    {
      hostId: 'kvm-001',
      storageCluster: 'ceph-a',
      reason: `draining kvm-001: ${STEPS} server(s)`,
      requestedBy: 'bench',
      history: [{ state: 'running', stage: '', atMs: Date.now(), reason: 'accepted' }],
    },
  );
}

/** A step's progress (the step alone) or its end (the step and the moved-away list). */
function progress(o: OperationRecord, i: number, k: number): OperationRecord {
  const s = o.steps[i]!;
  s.phase = 'migrating';
  s.targetHostId = 'kvm-002';
  s.percent = (k * 7) % 100;
  s.bytesProcessed = k * 1e6;
  s.bytesTotal = 4e9;
  return o;
}
function finish(o: OperationRecord, i: number): OperationRecord {
  const s = o.steps[i]!;
  s.phase = 'done';
  s.percent = 100;
  s.targetHostId = 'kvm-002';
  s.startedAtMs = Date.now() - 5000;
  s.finishedAtMs = Date.now();
  o.movedAway = [...o.movedAway, { serverUuid: s.serverUuid, serverName: s.serverName, toHostId: 'kvm-002', wasRunning: true }];
  return o;
}

interface Path {
  name: string;
  update(id: string, change: (o: OperationRecord) => OperationRecord): Promise<void>;
  create(op: OperationRecord): Promise<void>;
}

async function measure(p: Path, meter: { bytes: number }, kind: 'progress' | 'finish'): Promise<{ ms: number; cpuMs: number; bytes: number }> {
  const id = `op-bench-${p.name}-${kind}`;
  await p.create(operation(id));
  meter.bytes = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < UPDATES; k++) {
    const i = k % STEPS;
    await p.update(id, (o) => (kind === 'progress' ? progress(o, i, k + 1) : finish(o, i)));
  }
  const ms = (performance.now() - t0) / UPDATES;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000 / UPDATES, bytes: meter.bytes / UPDATES };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-bench-opstore-'));
  const tn = await startTestNats({ dir });
  const nc = await tn.connect();
  try {
    const store = await openStore(nc, { replicas: 1 });
    const meter = { bytes: 0 };
    const noEvents = { publish: async () => 0 } as unknown as OperationEventLog;
    const oldRepo = new Repository<OperationRecord>(counting(store.kvs.operations, meter), 'operation');
    const oldPath: Path = {
      name: 'old',
      create: async (op) => void (await oldRepo.create(op.id, op)),
      update: async (id, change) =>
        void (await oldRepo.mutate(id, (o) => {
          const n = change(o);
          n.updatedAtMs = Date.now();
          return n;
        })),
    };
    const ops = new OperationStore(
      {
        headers: new Repository<OperationHeader>(counting(store.kvs.operations, meter), 'operation'),
        steps: new Repository<StoredStep>(counting(store.kvs.operationSteps, meter), 'operation step'),
        active: new Repository<ActiveEntry>(counting(store.kvs.activeOperations, meter), 'active operation'),
      },
      noEvents,
    );
    const newPath: Path = {
      name: 'split',
      create: async (op) => void (await ops.create(op, 'bench')),
      update: async (id, change) => void (await ops.update(id, change)),
    };
    const rows: (string | number)[][] = [];
    const results: Record<string, { ms: number; cpuMs: number; bytes: number }> = {};
    for (const kind of ['progress', 'finish'] as const) {
      for (const p of [oldPath, newPath]) {
        const r = await measure(p, meter, kind);
        results[`${p.name}-${kind}`] = r;
        rows.push([p.name === 'old' ? 'one record (before)' : 'header + step keys', kind, r.ms.toFixed(2), r.cpuMs.toFixed(2), Math.round(r.bytes)]);
      }
    }
    console.log(`operation of ${STEPS} steps, ${UPDATES} updates of each kind`);
    console.log('layout               update     ms/update  cpu ms/update  bytes/update');
    for (const r of rows)
      console.log(
        `${String(r[0]).padEnd(20)} ${String(r[1]).padEnd(10)} ${String(r[2]).padStart(9)} ${String(r[3]).padStart(14)} ${String(r[4]).padStart(13)}`,
      );
    const speedup = results['old-progress']!.ms / results['split-progress']!.ms;
    console.log(
      `progress update: ${speedup.toFixed(1)}x faster, ${(results['old-progress']!.bytes / results['split-progress']!.bytes).toFixed(0)}x fewer bytes`,
    );
    recordResult({
      title: 'Operation store: one step update of a large operation',
      command: `npx tsx bench/op-store.ts ${STEPS} ${UPDATES}`,
      figures: [
        { name: `progress update, ${STEPS} steps, header + step keys`, value: results['split-progress']!.ms, unit: 'ms' },
        { name: `progress update, ${STEPS} steps, one record (before)`, value: results['old-progress']!.ms, unit: 'ms' },
        { name: `bytes written per progress update, ${STEPS} steps, header + step keys`, value: results['split-progress']!.bytes, unit: 'B' },
        { name: `bytes written per progress update, ${STEPS} steps, one record (before)`, value: results['old-progress']!.bytes, unit: 'B' },
        { name: `coordinator CPU per progress update, ${STEPS} steps, header + step keys`, value: results['split-progress']!.cpuMs, unit: 'ms' },
        { name: `coordinator CPU per progress update, ${STEPS} steps, one record (before)`, value: results['old-progress']!.cpuMs, unit: 'ms' },
        { name: `step-ending update, ${STEPS} steps, header + step keys`, value: results['split-finish']!.ms, unit: 'ms' },
        { name: `step-ending update, ${STEPS} steps, one record (before)`, value: results['old-finish']!.ms, unit: 'ms' },
      ],
      tables: [
        { title: `One update of a ${STEPS}-step operation`, columns: ['layout', 'update', 'ms/update', 'coordinator CPU ms/update', 'bytes/update'], rows },
      ],
      limits:
        'The split layout writes one step (and the header when counts change); a read is one header get plus one request for the steps changed since (step-cache.ts). A step-ending update also rewrites the header, whose moved-away list grows with the drain.',
    });
  } finally {
    await nc.close();
    await tn.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
