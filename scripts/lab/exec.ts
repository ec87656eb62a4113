// Running programs for the lab: argument arrays only (never a shell), a
// deadline on every call, and errors that carry the command and its stderr.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { commandEnv } from '../../common/command-env.mjs';

export class LabError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
  }
}

export interface RunOptions {
  /** Kill the program after this long (default 30 s). */
  timeoutMs?: number;
  /** Fed to stdin. */
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new LabError('run: empty argv');
  const options: ExecFileOptions = {
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    // The C locale and sbin on PATH (ip lives in /usr/sbin): lab output is parsed.
    env: commandEnv(opts.env),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, options, (err, stdout, stderr) => {
      const out = String(stdout);
      const errText = String(stderr);
      if (err) {
        const why = (err as NodeJS.ErrnoException & { killed?: boolean }).killed ? `killed after ${options.timeout} ms` : err.message.split('\n')[0];
        reject(new LabError(`${argv.join(' ')}: ${why}${errText.trim() ? `\n${errText.trim()}` : ''}`, { cause: err }));
        return;
      }
      resolve({ stdout: out, stderr: errText });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Start time of a process (clock ticks since boot), to tell a pid from its reuse; null if gone. */
export async function processStartTime(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

export async function processAlive(pid: number, startTime?: number): Promise<boolean> {
  const st = await processStartTime(pid);
  if (st === null) return false;
  // A zombie counts as gone: it runs nothing and only waits for its parent.
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    return false;
  }
  return startTime === undefined || st === startTime;
}
