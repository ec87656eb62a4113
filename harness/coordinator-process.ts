// A coordinator as a real child process (`tsx coordinator/main.ts --config`),
// for tests that kill -9 or freeze (SIGSTOP) it. Its pino lines are parsed
// from stdout; the admin port comes from the "coordinator serving" line.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface CoordinatorProcess {
  child: ChildProcess;
  port: number;
  /** Parsed JSON log lines so far. */
  lines: Record<string, unknown>[];
  /** Resolves with the first log line matching (past or future), or rejects at the deadline. */
  waitForLog(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  readonly exited: boolean;
}

/** `nodeArgs`: options for node itself (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
export async function spawnCoordinator(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  startTimeoutMs = 30_000,
  nodeArgs: string[] = [],
): Promise<CoordinatorProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'coordinator', 'main.ts'), '--config', configFile], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
  });

  const waitForLog = async (match: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find(match);
      if (found) return found;
      if (exited) throw new Error(`coordinator exited; stderr: ${stderr}; last lines: ${JSON.stringify(lines.slice(-5))}`);
      if (Date.now() > deadline) throw new Error(`no matching coordinator log line within ${timeoutMs} ms; last lines: ${JSON.stringify(lines.slice(-5))}`);
      await sleep(50);
    }
  };

  const proc: CoordinatorProcess = {
    child,
    port: 0,
    lines,
    waitForLog,
    signal: (sig) => {
      if (!exited) child.kill(sig);
    },
    async stop(graceMs = 10_000) {
      if (exited) return;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
    get exited() {
      return exited;
    },
  };
  try {
    const serving = await waitForLog((l) => l.msg === 'coordinator serving', startTimeoutMs);
    proc.port = Number(serving.port);
  } catch (err) {
    child.kill('SIGKILL');
    await exit;
    throw err;
  }
  return proc;
}
