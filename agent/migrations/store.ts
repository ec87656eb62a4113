// Migration records on disk: one JSON file per migration id under
// <stateDir>/migrations, written durably (common/durable-file.ts: temp file,
// fsync, rename, fsync of the directory) before save() resolves, so a crash
// or a power loss leaves the old record or the new one, never half of one,
// and never loses a record the agent already acted on.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, writeFileDurably, type DurableFs } from '../../common/durable-file.ts';
import type { Migration } from '../../common/generated/drydock/agent/v1/Migration.ts';
import type { MigrateServerRequest } from '../../common/generated/drydock/agent/v1/MigrateServerRequest.ts';

export interface StoredMigration {
  version: 1;
  migration: Migration;
  /** The request as first received (idempotency compares against it). */
  request: MigrateServerRequest;
  /** Local disk paths copied to the target, to remove on the source after success. */
  localDisks: string[];
  /**
   * When a live transfer must be over (ms since the epoch), set when it
   * starts: an agent restarted mid-migration follows libvirt's job until
   * then, and only past it aborts (absent in records of older agents).
   */
  deadlineAtMs?: number;
}

const ID_FILE_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}\.json$/;

export class MigrationStore {
  readonly dir: string;
  /** Serialises writes per id so an older snapshot never lands after a newer one. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Per id, the write not yet begun (its snapshot is the newest saved). */
  private readonly waiting = new Map<string, { snapshot: string; written: Promise<void> }>();

  /** `fs`: the calls durable writes use (tests observe them); default node:fs/promises. */
  constructor(
    stateDir: string,
    private readonly fs?: DurableFs,
  ) {
    this.dir = path.join(stateDir, 'migrations');
  }

  async open(): Promise<StoredMigration[]> {
    // Directories created here get their entries made durable too, or a
    // power loss could take the directory (and every record in it) with it.
    const created = await mkdir(this.dir, { recursive: true, mode: 0o750 });
    if (created !== undefined) {
      for (let d = this.dir; ; d = path.dirname(d)) {
        await syncDirectory(path.dirname(d), this.fs);
        if (d === created || d === path.dirname(d)) break;
      }
    }
    const out: StoredMigration[] = [];
    for (const name of await readdir(this.dir)) {
      if (!ID_FILE_RE.test(name)) continue;
      try {
        const rec = JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as StoredMigration;
        if (rec.version === 1 && rec.migration?.migration_id) out.push(rec);
      } catch {
        // A record we cannot read is skipped, not fatal: the id then reads as unknown.
      }
    }
    return out;
  }

  /**
   * Resolves once the record, as given or as a later save() of the same id
   * gave it, is on disk. A save() made while an earlier one of the id waits
   * for its turn replaces that one's snapshot (the newer record is written
   * once, for both): the phases a flow passes through in one tick (PENDING,
   * PREPARING, TRANSFERRING) cost one durable write, not one each.
   */
  save(rec: StoredMigration): Promise<void> {
    const id = rec.migration.migration_id;
    const snapshot = JSON.stringify(rec, null, 1);
    const waiting = this.waiting.get(id);
    if (waiting) {
      waiting.snapshot = snapshot;
      return waiting.written;
    }
    const entry = { snapshot, written: Promise.resolve() };
    this.waiting.set(id, entry);
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev.then(async () => {
      // From here on a save() waits for the next write.
      this.waiting.delete(id);
      await writeFileDurably(path.join(this.dir, `${id}.json`), entry.snapshot, { mode: 0o640, fs: this.fs });
    });
    entry.written = next;
    const tracked = next
      .catch(() => undefined)
      .finally(() => {
        if (this.chains.get(id) === tracked) this.chains.delete(id);
      });
    this.chains.set(id, tracked);
    return next;
  }

  /** Not fsynced: a removal lost to a power loss brings back a finished record, which retention removes again. */
  async remove(id: string): Promise<void> {
    await rm(path.join(this.dir, `${id}.json`), { force: true });
  }

  /** Waits for every pending write. */
  async flush(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }
}
