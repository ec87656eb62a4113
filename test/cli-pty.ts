// Helpers of the CLI tests (test/cli*.test.ts): run `drydock` as a
// subprocess on a pipe or on a pseudo-terminal. No shell anywhere: the
// terminal comes from python3's pty module, with a fixed program and the
// command passed as argv.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DRYDOCK = path.join(ROOT, 'bin', 'drydock.mjs');

/**
 * Runs argv[4:] on a new pseudo-terminal of argv[3] columns and argv[2] rows and
 * copies everything it writes to stdout. When argv[1] is not empty, sends
 * Ctrl-C (through the terminal, as a person would) once that text has
 * appeared. Exits with the child's exit code (128+signal if killed).
 */
const PTY_RUNNER = `
import fcntl, os, pty, select, struct, sys, termios
marker = sys.argv[1].encode()
rows = int(sys.argv[2])
cols = int(sys.argv[3])
cmd = sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(cmd[0], cmd)
seen = b''
sent = False
while True:
    r, _, _ = select.select([fd], [], [], 0.1)
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        seen += data
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    if marker and not sent and marker in seen:
        os.write(fd, b'\\x03')
        sent = True
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `drydock args...` on a pipe. */
export function drydockPipe(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return run(process.execPath, [DRYDOCK, ...args], env);
}

/**
 * `drydock args...` on a pseudo-terminal (stdout and stderr both go to it,
 * so everything is in `stdout`); Ctrl-C once `interruptOn` appears, if given.
 */
export function drydockTty(args: string[], env: NodeJS.ProcessEnv, opts: { interruptOn?: string; rows?: number; columns?: number } = {}): Promise<Run> {
  return run(
    'python3',
    ['-c', PTY_RUNNER, opts.interruptOn ?? '', String(opts.rows ?? 40), String(opts.columns ?? 160), process.execPath, DRYDOCK, ...args],
    env,
  );
}

/**
 * The last frame a terminal would show: a small interpreter of the escape
 * sequences cli-progress writes (cursor up/down/column, erase line/below).
 */
export function screen(raw: string): string {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (c: string) => {
    while (lines.length <= row) lines.push('');
    const l = lines[row]!.padEnd(col);
    lines[row] = l.slice(0, col) + c + l.slice(col + 1);
    col++;
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\x1b') {
      const m = /^\x1b\[(\??)(\d*)(?:;(\d*))?([A-Za-z])/.exec(raw.slice(i, i + 16));
      if (m) {
        const n = Number(m[2] || 1);
        switch (m[4]) {
          case 'A':
            row = Math.max(0, row - n);
            break;
          case 'B':
            row += n;
            break;
          case 'G':
            col = n - 1;
            break;
          case 'K':
            while (lines.length <= row) lines.push('');
            lines[row] = lines[row]!.slice(0, col);
            break;
          case 'J':
            while (lines.length <= row) lines.push('');
            lines[row] = lines[row]!.slice(0, col);
            lines.length = row + 1;
            break;
          default:
            break;
        }
        i += m[0].length - 1;
        continue;
      }
    }
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      col = 0;
      while (lines.length <= row) lines.push('');
    } else put(c);
  }
  return lines
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n+$/, '\n');
}
