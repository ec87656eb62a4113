// Cost of a durable migration record write (agent/migrations/store.ts):
// MigrationStore.save() (temp file, fsync, rename, fsync of the directory)
// against the same write without the two fsyncs, interleaved rounds, median
// per write. The directory is on the filesystem given (default the OS temp
// dir): measure where the agent's stateDir lives.
// Run: npx tsx bench/record-write.ts [rounds] [dir]
import { mkdtempSync, rmSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { MigrationStore, type StoredMigration } from '../agent/migrations/store.ts';
import { describeMachine, recordResult } from './result.ts';

const ROUNDS = Math.max(3, Number(process.argv[2] ?? 5) || 5);
const BASE = process.argv[3] ?? tmpdir();
const WRITES = 100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function record(id: string, i: number): StoredMigration {
  // About the size of a real record mid-transfer.
  return {
    version: 1,
    migration: {
      migration_id: id,
      server_uuid: '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f',
      server_name: 'web-042',
      mode: 'MIGRATION_MODE_LIVE',
      source_host_id: 'kvm-017',
      target_host_id: 'kvm-023',
      target_uri: 'qemu+tls://kvm-023.example/system',
      phase: 'MIGRATION_PHASE_TRANSFERRING',
      bytes_processed: i * 1e6,
      bytes_remaining: 1e9,
      bytes_total: 2e9,
      bandwidth_bps: 1e8,
      percent: i % 100,
      was_running: true,
      started_at_ms: Date.now(),
      updated_at_ms: Date.now(),
      finished_at_ms: 0,
      error: null,
      downtime_ms: 0,
      iteration: 1,
      copied_storage: false,
    },
    request: {
      migration_id: id,
      server_uuid: '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f',
      mode: 'MIGRATION_MODE_LIVE',
      target_host_id: 'kvm-023',
      target_uri: 'qemu+tls://kvm-023.example/system',
    },
    localDisks: [],
  } as unknown as StoredMigration;
}

async function durable(dir: string): Promise<number> {
  const store = new MigrationStore(dir);
  await store.open();
  const t0 = performance.now();
  for (let i = 0; i < WRITES; i++) await store.save(record('bench', i));
  return (performance.now() - t0) / WRITES;
}

async function unsynced(dir: string): Promise<number> {
  const store = new MigrationStore(dir);
  await store.open();
  const file = path.join(store.dir, 'bench.json');
  const t0 = performance.now();
  for (let i = 0; i < WRITES; i++) {
    await writeFile(`${file}.tmp`, JSON.stringify(record('bench', i), null, 1), { mode: 0o640 });
    await rename(`${file}.tmp`, file);
  }
  return (performance.now() - t0) / WRITES;
}

const loadBefore = loadavg()[0]!;
const work = mkdtempSync(path.join(BASE, 'drydock-record-bench-'));
try {
  const d: number[] = [];
  const u: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    u.push(await unsynced(path.join(work, `u${r}`)));
    d.push(await durable(path.join(work, `d${r}`)));
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  console.log(`record writes on ${work} (${WRITES} per round, ${ROUNDS} rounds), ms per write:`);
  console.log(`  without fsync (temp + rename): median ${median(u).toFixed(2)}  [${fmt(u)}]`);
  console.log(`  durable (MigrationStore.save): median ${median(d).toFixed(2)}  [${fmt(d)}]`);
  console.log(`  cost of the fsyncs: ${(median(d) - median(u)).toFixed(2)} ms per record write`);
  recordResult({
    title: 'Agent migration record: the cost of a durable write',
    command: `npx tsx bench/record-write.ts ${ROUNDS}${process.argv[3] ? ` ${BASE}` : ''}`,
    machine: describeMachine(loadBefore),
    figures: [
      { name: 'durable write (MigrationStore.save: temp, fsync, rename, fsync dir), median', value: median(d), unit: 'ms' },
      { name: 'the same write without fsync, median', value: median(u), unit: 'ms' },
    ],
    tables: [
      {
        title: `ms per write, ${WRITES} writes per round`,
        columns: ['round', 'without fsync', 'durable'],
        rows: u.map((x, i) => [i + 1, x.toFixed(2), d[i]!.toFixed(2)]),
      },
    ],
    limits: `The filesystem under ${BASE}: two fsyncs per write. A migration writes its record a few times, so this is paid a few times per migration.`,
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
