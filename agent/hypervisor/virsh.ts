// The only door to libvirt: `virsh -c <uri> ...` as a child process with an
// argument array (never a shell), a deadline on every call, an AbortSignal,
// and stderr handed to the one error parser. spawn (what execFile wraps) is
// used directly so the child gets its own process group: a deadline kills
// the whole group with SIGKILL, including virsh started behind a prefix
// such as `nsenter -t <pid> -m -n --`.
import { spawn, type ChildProcess } from 'node:child_process';
import { CancelledError } from '../../common/errors.ts';
import { commandEnv } from '../../common/command-env.mjs';
import { assertLibvirtUri } from '../../common/uri.ts';
import { LibvirtError, parseLibvirtError, VirshTimeoutError, type LibvirtErrorContext } from './errors.ts';

export interface VirshOptions {
  /** libvirt URI of this host's daemon (qemu:///system, qemu+tcp://10.99.0.2/system). */
  uri: string;
  /** argv run before virsh, e.g. ['nsenter', '-t', '1234', '-m', '-n', '--']. */
  prefix?: string[];
  /** virsh binary (default "virsh", looked up in PATH). */
  virshPath?: string;
  /** Deadline of a call without its own (default 30 s). */
  defaultTimeoutMs?: number;
  /** Largest stdout/stderr kept per call (default 64 MiB); more fails the call. */
  maxOutputBytes?: number;
}

export interface VirshCallOptions {
  /** Kill the call after this long (default: VirshOptions.defaultTimeoutMs). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Talk to another daemon than this host's (a migration target). Validated. */
  uri?: string;
  /** Extra context for typed errors (domain, target). */
  context?: LibvirtErrorContext;
}

export interface VirshResult {
  stdout: string;
  stderr: string;
  /** Exit code (0 unless the call was made with allowFailure). */
  code: number;
}

const DEFAULTS = { virshPath: 'virsh', defaultTimeoutMs: 30_000, maxOutputBytes: 64 * 1024 * 1024 };

/** Environment for virsh: C locale so libvirt's messages are the English ones the parser knows. */

/** A migration's --desturi checked (common/uri.ts): by Virsh.argv, and by a prepared virsh before it sends a command (virsh-prepared.ts). */
export function assertDestUri(args: readonly string[]): void {
  args.forEach((a, i) => {
    if (a === '--desturi') assertLibvirtUri('desturi', args[i + 1] ?? '');
    else if (a.startsWith('--desturi=')) assertLibvirtUri('desturi', a.slice('--desturi='.length));
  });
}

/** SIGKILL the child's process group (it leads one: detached), falling back to the pid. */
export function killTree(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export class Virsh {
  readonly uri: string;
  readonly prefix: readonly string[];
  private readonly virshPath: string;
  private readonly defaultTimeoutMs: number;
  private readonly maxOutputBytes: number;

  constructor(options: VirshOptions) {
    this.uri = assertLibvirtUri('uri', options.uri);
    this.prefix = [...(options.prefix ?? [])];
    this.virshPath = options.virshPath ?? DEFAULTS.virshPath;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULTS.defaultTimeoutMs;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULTS.maxOutputBytes;
  }

  /**
   * argv of a call, without spawning it (also used by tests). Every call
   * passes here, so here the connection URI and a migration's --desturi are
   * checked once more (common/uri.ts): whatever a caller forgot, virsh never
   * opens a URI that could make it run a program or skip verification.
   */
  argv(args: readonly string[], uri = this.uri): string[] {
    assertLibvirtUri('uri', uri);
    assertDestUri(args);
    return [...this.prefix, this.virshPath, '-c', uri, ...args];
  }

  /** Runs virsh; resolves with its output on exit 0, else throws the parsed typed error. */
  async run(args: readonly string[], opts: VirshCallOptions = {}): Promise<VirshResult> {
    const res = await this.exec(args, opts);
    if (res.code !== 0) {
      const uri = opts.uri ?? this.uri;
      throw parseLibvirtError(res.stderr || res.stdout, { command: args[0], uri, ...opts.context });
    }
    return res;
  }

  /** Like run, but a non-zero exit resolves (for commands whose exit code is an answer). */
  async exec(args: readonly string[], opts: VirshCallOptions = {}): Promise<VirshResult> {
    const uri = opts.uri ?? this.uri;
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const signal = opts.signal;
    if (signal?.aborted) throw new CancelledError(`virsh ${args[0] ?? ''} cancelled before it started`, { cause: signal.reason });
    const [cmd, ...rest] = this.argv(args, uri);

    return new Promise<VirshResult>((resolve, reject) => {
      const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: commandEnv() });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let failure: Error | undefined;
      const fail = (e: Error) => {
        if (failure) return;
        failure = e;
        killTree(child);
      };
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxOutputBytes) fail(new LibvirtError(`virsh ${args[0] ?? ''}: output exceeds ${this.maxOutputBytes} bytes`));
        else into.push(chunk);
      };
      child.stdout!.on('data', collect(out));
      child.stderr!.on('data', collect(err));

      const timer = setTimeout(() => {
        fail(
          new VirshTimeoutError(`virsh ${args[0] ?? ''} exceeded its ${timeoutMs} ms deadline and was killed`, {
            details: { command: args[0] ?? '', uri, timeoutMs: String(timeoutMs) },
          }),
        );
      }, timeoutMs);
      const onAbort = () => fail(new CancelledError(`virsh ${args[0] ?? ''} cancelled`, { cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });

      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      child.on('error', (e) => {
        done();
        reject(failure ?? e);
      });
      child.on('close', (code, sig) => {
        done();
        if (failure) return reject(failure);
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        resolve({ stdout, stderr, code: code ?? (sig ? 128 : 1) });
      });
    });
  }

  /**
   * Starts a long-running virsh (event --loop; with `stdin`, virsh's shell
   * reading commands from a pipe: virsh-prepared.ts). The caller owns the
   * child and must call killTree on it; no deadline applies.
   */
  spawnLong(args: readonly string[], uri = this.uri, opts: { stdin?: boolean } = {}): ChildProcess {
    const [cmd, ...rest] = this.argv(args, uri);
    return spawn(cmd!, rest, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true, env: commandEnv() });
  }
}
