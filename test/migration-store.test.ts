// The agent's migration record store (agent/migrations/store.ts): records
// are written durably (temp file fsynced, renamed, directory fsynced) before
// save() resolves, and a process killed right after a save leaves that
// record whole.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { MigrationStore, type StoredMigration } from '../agent/migrations/store.ts';
import type { DurableFs } from '../common/durable-file.ts';

function tempDir(t: { teardown: (f: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function record(id: string, percent = 10): StoredMigration {
  return {
    version: 1,
    migration: { migration_id: id, server_uuid: '00000000-0000-4000-8000-000000000001', phase: 'MIGRATION_PHASE_TRANSFERRING', percent },
    request: { migration_id: id },
    localDisks: [],
  } as unknown as StoredMigration;
}

/** The real fs, with every open/write/sync/close/rename on the way logged in order. */
function tracingFs(trace: string[], root: string): DurableFs {
  const rel = (p: string) => path.relative(root, p) || '.';
  return {
    rename: async (from, to) => {
      await fsp.rename(from, to);
      trace.push(`rename ${rel(String(from))} -> ${rel(String(to))}`);
    },
    unlink: fsp.unlink,
    open: async (file, flags, mode) => {
      const fh = await fsp.open(file, flags, mode);
      const name = rel(String(file));
      trace.push(`open ${name} ${flags}`);
      return new Proxy(fh, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target);
          if (typeof v !== 'function') return v;
          if (prop === 'writeFile' || prop === 'sync' || prop === 'close' || prop === 'datasync') {
            return async (...args: unknown[]) => {
              const r = await (v as (...a: unknown[]) => unknown).apply(target, args);
              trace.push(`${String(prop)} ${name}`);
              return r;
            };
          }
          return v.bind(target);
        },
      });
    },
  };
}

test('save() fsyncs the record before renaming it into place and the directory after, all before it resolves', async (t) => {
  const dir = tempDir(t);
  const trace: string[] = [];
  const store = new MigrationStore(dir, tracingFs(trace, path.join(dir, 'migrations')));
  await store.open();
  trace.length = 0;
  await store.save(record('m-1'));
  const tmp = `m-1.json.${process.pid}.tmp`;
  t.deepEqual(trace, [`open ${tmp} w`, `writeFile ${tmp}`, `sync ${tmp}`, `close ${tmp}`, `rename ${tmp} -> m-1.json`, 'open . r', 'sync .', 'close .']);
  const again = await new MigrationStore(dir).open();
  t.deepEqual(
    again.map((r) => r.migration.migration_id),
    ['m-1'],
  );
  t.deepEqual(readdirSync(path.join(dir, 'migrations')), ['m-1.json'], 'no temp file left');
});

test('saves of one record made while its write waits for its turn are written once, as the newest; every save() resolves after it is on disk', async (t) => {
  const dir = tempDir(t);
  const trace: string[] = [];
  const store = new MigrationStore(dir, tracingFs(trace, path.join(dir, 'migrations')));
  await store.open();
  trace.length = 0;
  // A flow's phase changes in one tick (PREPARING, then TRANSFERRING): the first write has not begun when the others come.
  const saves = [store.save(record('m-3', 1)), store.save(record('m-3', 2)), store.save(record('m-3', 3))];
  const order: number[] = [];
  const onDisk = () => (JSON.parse(readFileSync(path.join(dir, 'migrations', 'm-3.json'), 'utf8')) as StoredMigration).migration.percent;
  let firstSaw = 0;
  saves.forEach((p, i) => void p.then(() => (order.push(i), i === 0 && (firstSaw = onDisk()))));
  // One more while that write runs: it waits for it, then is written too.
  await Promise.resolve();
  await Promise.resolve();
  const later = store.save(record('m-3', 4));
  await Promise.all([...saves, later]);
  t.is(trace.filter((l) => l.startsWith('rename')).length, 2, trace.join(', '));
  t.deepEqual(order, [0, 1, 2]);
  t.is((await new MigrationStore(dir).open()).find((r) => r.migration.migration_id === 'm-3')?.migration.percent, 4);
  t.is(firstSaw, 3, 'the first save() resolved with the newest of the three on disk');
});

test('open() makes the migrations directory itself durable (its entry in the state directory is fsynced)', async (t) => {
  const dir = tempDir(t);
  const trace: string[] = [];
  await new MigrationStore(dir, tracingFs(trace, dir)).open();
  t.true(trace.includes('sync .'), trace.join(', '));
});

test('a failed write leaves the previous record and no temp file', async (t) => {
  const dir = tempDir(t);
  const store = new MigrationStore(dir);
  await store.open();
  await store.save(record('m-2', 10));
  const failing: DurableFs = {
    ...tracingFs([], dir),
    rename: async () => {
      throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
    },
  };
  const broken = new MigrationStore(dir, failing);
  await t.throwsAsync(broken.save(record('m-2', 50)), { message: /EIO/ });
  const recs = await new MigrationStore(dir).open();
  t.is(recs.find((r) => r.migration.migration_id === 'm-2')?.migration.percent, 10);
  t.deepEqual(readdirSync(path.join(dir, 'migrations')), ['m-2.json']);
});

test('SIGKILL right after save() returns: the record is there and parses', async (t) => {
  // A process kill does not drop the page cache, so this checks the write
  // path (temp + rename: never half a record) rather than fsync itself; the
  // test above checks the fsyncs.
  const dir = tempDir(t);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'helpers', 'record-writer.ts'), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let last = '';
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    last = line.replace(/^saved /, '');
    // Kill it mid-stream, a while in, right after a save() returned.
    if (last === 'crash-40') {
      child.kill('SIGKILL');
      break;
    }
  }
  await exited;
  t.is(child.signalCode, 'SIGKILL');
  const recs = await new MigrationStore(dir).open();
  const ids = new Set(recs.map((r) => r.migration.migration_id));
  t.true(ids.has('crash-40'), 'the record whose save() returned before the kill is there');
  for (let i = 0; i <= 40; i++) t.true(ids.has(`crash-${i}`), `crash-${i}`);
  for (const r of recs) t.deepEqual(r.localDisks, [`/var/lib/libvirt/images/${r.migration.migration_id}.qcow2`], 'whole, parsed records only');
});

test('cost of a durable record write (fsync of file and directory), printed', async (t) => {
  const dir = tempDir(t);
  const store = new MigrationStore(dir);
  await store.open();
  const n = 50;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await store.save(record(`cost-${i}`, i));
  const ms = (performance.now() - t0) / n;
  t.log(`${n} record writes: ${ms.toFixed(2)} ms per write on ${dir}`);
  t.is((await new MigrationStore(dir).open()).length, n);
});
