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
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../common/errors.ts';
import { LibvirtError, parseLibvirtError, VirshTimeoutError, type LibvirtErrorContext } from './errors.ts';
import { assertDestUri, killTree, type Virsh, type VirshResult } from './virsh.ts';

/** Words virsh's shell takes literally: no quotes, blanks, `;`, `#`, `$` or `\`. */
const PLAIN_WORD = /^[A-Za-z0-9_.:/+=@-]+$/;
/** The shell's prompt, which starts the echo of each command read from a pipe. */
const PROMPT = 'virsh # ';
const MAX_OUTPUT = 1024 * 1024;

/**
 * Whether `echoed` is readline's echo of `line`: as is, or scrolled — past
 * its 80 columns readline returns the cursor (`\r`) and redraws the line's
 * end, so the text before the first `\r` starts the line and the text after
 * the last ends it.
 */
function echoes(echoed: string, line: string): boolean {
  const first = echoed.indexOf('\r');
  if (first < 0) return echoed === line;
  return line.startsWith(echoed.slice(0, first)) && line.endsWith(echoed.slice(echoed.lastIndexOf('\r') + 1));
}

export class PreparedVirshCall {
  private readonly child: ChildProcess;
  private readonly closed: Promise<number | null>;
  private out = '';
  private err = '';
  private used = false;
  /** Killed at a read's deadline: not usable even before its exit is seen. */
  private killed = false;

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
    return !this.used && !this.killed && this.child.exitCode === null && this.child.signalCode === null && args.every((a) => PLAIN_WORD.test(a));
  }

  /**
   * Reads on a shell kept for reads (virsh-sessions.ts), any number of
   * times, one at a time, and never with run(): `commands` (plain words,
   * read-only ones) sent now, each followed by an `echo` of a marker no
   * output can predict, and the stdout of each returned, in order. A
   * command that failed cleanly (its `error:` lines, then the end marker:
   * virsh's shell exits 0 whatever a command did) is returned as its
   * stderr, and the shell stays in step for the next read. Null on anything
   * else — a command echoed otherwise than sent, a virsh without `echo
   * --err`, the deadline (which kills the shell).
   */
  async read(commands: readonly (readonly string[])[], timeoutMs: number): Promise<{ outputs: string[] } | { error: string } | null> {
    if (this.used || !commands.every((c) => this.usable(c))) return null;
    return this.exchange(commands, timeoutMs);
  }

  /** Alive: not killed at a deadline and not exited. */
  get alive(): boolean {
    return !this.killed && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether the shell was killed at an exchange's deadline. */
  get timedOut(): boolean {
    return this.killed;
  }

  /** Lets the agent's process exit while this shell waits (the shell ends with its stdin). */
  unref(): void {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as { unref?: () => void } | null)?.unref?.();
  }

  private async exchange(commands: readonly (readonly string[])[], timeoutMs: number): Promise<{ outputs: string[] } | { error: string } | null> {
    const mark = `drydock-${randomBytes(12).toString('hex')}`;
    const script = commands.map((c, i) => `${c.join(' ')}\necho ${mark}-${i}\n`).join('');
    // After the last command, a marker on stderr: once it and its command's
    // echo on stdout arrived, all the commands printed has too (virsh runs
    // them in order; the two pipes are read separately).
    this.child.stdin!.write(`echo ${mark}-start\n${script}echo --err ${mark}-end\n`);
    const last = `${PROMPT}echo --err ${mark}-end\n`;
    const endErr = `error: ${mark}-end\n`;
    const done = await this.until(() => this.err.includes(endErr) && this.out.includes(last), timeoutMs);
    // What follows the reads (the shell's next prompt) stays for the next exchange.
    const cut = (text: string, at: string) => (text.includes(at) ? text.indexOf(at) + at.length : text.length);
    const out = this.out.slice(0, cut(this.out, last));
    const err = this.err.slice(0, cut(this.err, endErr));
    this.out = this.out.slice(out.length);
    this.err = this.err.slice(err.length);
    if (!done) return null;
    if (err !== endErr) return /^error:/m.test(err.slice(0, -endErr.length)) ? { error: err.slice(0, -endErr.length) } : null;
    const first = `${PROMPT}echo ${mark}-start\n`;
    if (!out.startsWith(first)) return null;
    const outputs: string[] = [];
    let rest = out.slice(first.length);
    for (const [i, c] of commands.entries()) {
      // The mark echoed before it (virsh 9 ends an echo without a newline),
      // then the command as the shell echoed it.
      const prev = i === 0 ? `${mark}-start` : `${mark}-${i - 1}`;
      const from = rest.startsWith(`${prev}${PROMPT}`) ? prev.length : rest.startsWith(`${prev}\n${PROMPT}`) ? prev.length + 1 : -1;
      const eol = from < 0 ? -1 : rest.indexOf('\n', from);
      if (eol < 0 || !echoes(rest.slice(from, eol), `${PROMPT}${c.join(' ')}`)) return null;
      const tail = `${PROMPT}echo ${mark}-${i}\n`;
      const end = rest.indexOf(tail, eol + 1);
      if (end < 0) return null;
      outputs.push(rest.slice(eol + 1, end));
      rest = rest.slice(end + tail.length);
    }
    if (rest !== `${mark}-${commands.length - 1}${last}` && rest !== `${mark}-${commands.length - 1}\n${last}`) return null;
    return { outputs };
  }

  /** Waits until `cond` holds (checked as output arrives), the virsh exits, or the deadline: whether it holds. */
  private until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!cond() && !exited) return;
        finish();
      };
      let exited = false;
      const onClose = () => {
        exited = true;
        check();
      };
      const finish = () => {
        clearTimeout(timer);
        this.child.stdout!.off('data', check);
        this.child.stderr!.off('data', check);
        this.child.off('close', onClose);
        resolve(cond());
      };
      const timer = setTimeout(() => {
        this.killed = true;
        killTree(this.child);
        finish();
      }, timeoutMs);
      this.child.stdout!.on('data', check);
      this.child.stderr!.on('data', check);
      this.child.once('close', onClose);
      check();
    });
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
