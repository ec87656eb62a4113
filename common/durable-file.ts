// Replacing a file so that a crash or a power loss leaves either the old
// content or the new one, whole. rename() alone is atomic for the running
// system only: until fsync the new bytes may sit in the page cache, and the
// rename may reach the disk before them, so a power loss could leave an
// empty or missing file. Hence: write a temp file, fsync it, rename it over
// the target, fsync the directory (the rename is a change of the directory).
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** The calls used, injectable so tests can observe them (by default node:fs/promises). */
export interface DurableFs {
  open: typeof open;
  rename: typeof rename;
  unlink: typeof unlink;
}

const NODE_FS: DurableFs = { open, rename, unlink };

/** fsync of a directory: makes the entries created, renamed or removed in it durable. */
export async function syncDirectory(dir: string, fs: DurableFs = NODE_FS): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `file` durably (see above); resolves once it is on disk.
 * The temp file is `<file>.<pid>.tmp` beside it (same filesystem, so the
 * rename is atomic); callers serialise writes to one file. On failure the
 * old file stays and the temp file is removed.
 */
export async function writeFileDurably(file: string, data: string | Uint8Array, opts: { mode?: number; fs?: DurableFs } = {}): Promise<void> {
  const fs = opts.fs ?? NODE_FS;
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const handle = await fs.open(tmp, 'w', opts.mode ?? 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(path.dirname(file), fs);
}
