// A virsh started ahead of the one command it will run: virsh's shell, the
// command written to its stdin only when the answer is wanted. Starting
// virsh and connecting to a daemon are most of a short call's time (tens of
// ms on an idle host, hundreds on a busy one); a prepared call pays them
// while the caller waits for something else — the live flow prepares the
// check of the target during the migration — and answers in a few ms once
// asked. The live flow also opens the virsh that runs `migrate` when the
// request comes in, so its start and connection overlap the checks before
// the move instead of following them. Only plain words are sent (virsh's
// shell would parse quotes, `;` and `#`), and only identifiers validated by
// the caller reach here.
import type { ChildProcess } from 'node:child_process';
import { InvalidArgumentError } from '../../common/errors.ts';
import { LibvirtError, parseLibvirtError, VirshTimeoutError, type LibvirtErrorContext } from './errors.ts';
import { assertDestUri, killTree, type Virsh, type VirshResult } from './virsh.ts';

/** Words virsh's shell takes literally: no quotes, blanks, `;`, `#`, `$` or `\`. */
const PLAIN_WORD = /^[A-Za-z0-9_.:/+=@-]+$/;
/** The shell's prompt, which starts the echo of each command read from a pipe. */
const PROMPT = 'virsh # ';
const MAX_OUTPUT = 1024 * 1024;

export class PreparedVirshCall {
  private readonly child: ChildProcess;
  private readonly closed: Promise<number | null>;
  private out = '';
  private err = '';
  private used = false;

  /** Starts `virsh -q -c <uri>` now; `uri` is validated by Virsh.argv. */
  constructor(
    virsh: Virsh,
    private readonly uri: string,
  ) {
    this.child = virsh.spawnLong(['-q'], uri, { stdin: true });
    const keep = (into: 'out' | 'err') => (chunk: Buffer) => {
      if (this.out.length + this.err.length + chunk.length > MAX_OUTPUT) killTree(this.child);
      else this[into] += chunk.toString('utf8');
    };
    this.child.stdout!.on('data', keep('out'));
    this.child.stderr!.on('data', keep('err'));
    // A write to a virsh that already exited must not throw out of the process.
    this.child.stdin!.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      this.child.once('error', () => resolve(null));
      this.child.once('close', (code) => resolve(code));
    });
  }

  /**
   * Can run `args`: not used yet, still running (a virsh whose connection
   * failed has exited), and every argument a plain word. A caller that must
   * not send a command twice checks this first and otherwise runs it afresh.
   */
  usable(args: readonly string[]): boolean {
    return !this.used && this.child.exitCode === null && this.child.signalCode === null && args.every((a) => PLAIN_WORD.test(a));
  }

  /** Runs one command (plain words only) and resolves like Virsh.run: its output, or the parsed typed error. */
  async run(args: readonly string[], opts: { timeoutMs: number; context?: LibvirtErrorContext }): Promise<VirshResult> {
    if (this.used) throw new LibvirtError('a prepared virsh runs one command');
    this.used = true;
    try {
      assertDestUri(args);
    } catch (err) {
      killTree(this.child);
      throw err;
    }
    const bad = args.find((a) => !PLAIN_WORD.test(a));
    if (bad !== undefined) {
      killTree(this.child);
      throw new InvalidArgumentError('virsh argument', `${JSON.stringify(bad)} is not a plain word; not sent to virsh's shell`);
    }
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new LibvirtError(`prepared virsh exited before ${args[0] ?? ''}`);
    this.child.stdin!.end(`${args.join(' ')}\n`);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(this.child);
    }, opts.timeoutMs);
    const code = await this.closed;
    clearTimeout(timer);
    if (timedOut) throw new VirshTimeoutError(`virsh ${args[0] ?? ''} exceeded its ${opts.timeoutMs} ms deadline and was killed`);
    // The shell exits 0 whatever its command did: an error is what it printed
    // on stderr, as virsh prints every error ("error: ..."); anything else
    // there (a warning) does not fail a command that did its work.
    if (/^error:/m.test(this.err)) throw parseLibvirtError(this.err, { command: args[0], uri: this.uri, ...opts.context });
    if (code !== 0) throw new LibvirtError(`prepared virsh ${args[0] ?? ''} exited ${code}`);
    const stdout = this.out
      .split('\n')
      .filter((l) => !l.startsWith(PROMPT))
      .join('\n');
    return { stdout, stderr: '', code: 0 };
  }

  /** Ends the virsh if it still runs (idempotent). */
  cancel(): void {
    killTree(this.child);
  }
}
