// This host's read-only virsh calls on a few long-lived virsh shells,
// instead of a virsh process each. A process per read costs the agent's
// event loop a fork of the whole node process (ChildProcess.spawn: 3.7 s of
// the source agent's CPU in one lab drain of 4 guests, most of what the
// agents used while guests moved) and virsh's own start and connection
// (~19 ms on an idle lab host), where the same read on a shell already
// connected takes 0.3–4 ms. Reads only (a fixed list of commands that
// change nothing), plain words only (virsh-prepared.ts), this host's daemon
// only. A read that finds every shell busy waits briefly, then runs as its
// own process: one slow domain (a hung QEMU monitor) never holds the reads
// of the others. Anything unexpected on a shell ends that shell and the
// read runs afresh, where its error is reported typed; so does a read
// that failed on a shell with anything but "not found".
import { CancelledError, NotFoundError } from '../../common/errors.ts';
import { parseLibvirtError, VirshTimeoutError } from './errors.ts';
import type { Virsh, VirshCallOptions } from './virsh.ts';
import { PreparedVirshCall } from './virsh-prepared.ts';

/** Commands that only read: the ones the agent runs on this host's daemon. */
const READ_ONLY = new Set([
  'capabilities',
  'domblklist',
  'domcapabilities',
  'domjobinfo',
  'domstate',
  'domstats',
  'dumpxml',
  'list',
  'nodememstats',
  'pool-dumpxml',
  'pool-list',
  'version',
  'vol-dumpxml',
  'vol-info',
]);

/** How long a read waits for a busy shell before it runs as its own process; how long an unused shell stays. */
export const SESSION_TIMING = { queueWaitMs: 200, idleMs: 60_000 };

export interface VirshSessionsOptions {
  /** Shells kept at most (0: none, every read its own process). */
  size: number;
  /** How long a read waits for a busy shell before it runs as its own process. */
  queueWaitMs: number;
  /** A shell unused this long ends (its daemon connection with it). */
  idleMs: number;
}

interface Shell {
  call: PreparedVirshCall;
  busy: boolean;
  idle: NodeJS.Timeout | undefined;
}

export class VirshSessions {
  private readonly shells = new Set<Shell>();
  /** Reads waiting for a shell, first come first served: each is handed a shell (busy, now its own) or null. */
  private readonly waiting: ((s: Shell | null) => void)[] = [];
  private closed = false;

  constructor(
    private readonly virsh: Virsh,
    private readonly opts: VirshSessionsOptions,
  ) {}

  /**
   * The stdout of `args` read on a shell; throws the typed error of a read
   * that failed there; null when it is not a read a shell takes (not a read,
   * another daemon, not plain words, every shell busy too long, the shell
   * broke): the caller runs it as its own process.
   */
  async read(args: readonly string[], opts: VirshCallOptions, timeoutMs: number): Promise<string | null> {
    if (this.closed || this.opts.size <= 0 || !READ_ONLY.has(args[0] ?? '') || (opts.uri !== undefined && opts.uri !== this.virsh.uri)) return null;
    const signal = opts.signal;
    if (signal?.aborted) throw new CancelledError(`virsh ${args[0] ?? ''} cancelled before it started`, { cause: signal.reason });
    const shell = await this.acquire();
    if (!shell) return null;
    if (signal?.aborted) {
      this.release(shell);
      throw new CancelledError(`virsh ${args[0] ?? ''} cancelled before it started`, { cause: signal.reason });
    }
    if (!shell.call.usable(args)) {
      if (shell.call.alive) this.release(shell);
      else this.discard(shell);
      return null;
    }
    // A read cannot be taken back from a shell: an abort ends the shell.
    const onAbort = () => this.discard(shell);
    signal?.addEventListener('abort', onAbort, { once: true });
    let r: Awaited<ReturnType<PreparedVirshCall['read']>>;
    try {
      r = await shell.call.read([args], timeoutMs);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) {
      this.discard(shell);
      throw new CancelledError(`virsh ${args[0] ?? ''} cancelled`, { cause: signal.reason });
    }
    if (r === null) {
      const timedOut = shell.call.timedOut;
      this.discard(shell);
      if (timedOut) throw new VirshTimeoutError(`virsh ${args[0] ?? ''} exceeded its ${timeoutMs} ms deadline and was killed`);
      return null;
    }
    if ('error' in r) {
      // An answer ("no such domain") is the read's own error, and the shell
      // serves on. Anything else may be the shell's (its connection dropped
      // with a daemon restart; virsh then reconnects saying so on stderr):
      // the read runs afresh, on a connection of its own.
      const err = parseLibvirtError(r.error, { command: args[0], uri: this.virsh.uri, ...opts.context });
      if (!(err instanceof NotFoundError)) {
        this.discard(shell);
        return null;
      }
      this.release(shell);
      throw err;
    }
    this.release(shell);
    return r.outputs[0]!;
  }

  /** Shells open now (tests). */
  get size(): number {
    return this.shells.size;
  }

  /** Ends every shell; reads from now on run as their own processes. */
  close(): void {
    this.closed = true;
    for (const s of [...this.shells]) this.discard(s);
    for (const w of this.waiting.splice(0)) w(null);
  }

  /** An idle shell (a new one while fewer than size), or one freed within queueWaitMs; null otherwise. */
  private acquire(): Promise<Shell | null> {
    for (const s of [...this.shells]) {
      if (s.busy) continue;
      if (s.call.alive) return Promise.resolve(this.take(s));
      this.discard(s);
    }
    if (this.shells.size < this.opts.size) return Promise.resolve(this.open());
    return new Promise((resolve) => {
      let settled = false;
      const handOver = (s: Shell | null) => {
        if (settled) {
          if (s) this.release(s);
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(handOver);
        if (i >= 0) this.waiting.splice(i, 1);
        handOver(null);
      }, this.opts.queueWaitMs);
      this.waiting.push(handOver);
    });
  }

  /** A new shell, busy (its virsh starts and connects while the first read waits in its stdin). */
  private open(): Shell {
    const call = new PreparedVirshCall(this.virsh, this.virsh.uri);
    call.unref();
    const s: Shell = { call, busy: false, idle: undefined };
    this.shells.add(s);
    return this.take(s);
  }

  private take(s: Shell): Shell {
    s.busy = true;
    clearTimeout(s.idle);
    return s;
  }

  /** Back to the pool: to the first waiting read, else idle until idleMs. */
  private release(s: Shell): void {
    s.busy = false;
    const next = this.waiting.shift();
    if (next) return next(this.take(s));
    s.idle = setTimeout(() => this.discard(s), this.opts.idleMs);
    s.idle.unref();
  }

  private discard(s: Shell): void {
    clearTimeout(s.idle);
    s.call.cancel();
    if (!this.shells.delete(s)) return;
    // A read waiting for a shell gets a new one in its place (none once closed).
    const next = this.waiting.shift();
    if (next) next(this.closed ? null : this.open());
  }
}
