// Child-process helpers for the set-up scripts. Plain Node (no npm packages:
// these run before `npm install`). Never a shell: argument arrays only.
import { spawn } from 'node:child_process';
import { commandEnv } from '../../common/command-env.mjs';

export class SetupError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'SetupError';
  }
}

/**
 * Runs a program, returns { stdout, stderr } (strings, or Buffers with
 * `binary`), and fails with the command and the tail of its stderr.
 * `inherit` streams output to ours (long apt/npm runs show progress).
 */
export function run(cmd, args, { cwd, env, input, inherit = false, binary = false, allowFail = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      // The C locale and sbin on PATH: the output is parsed (common/command-env.mjs).
      env: commandEnv(env),
      stdio: [input === undefined ? 'ignore' : 'pipe', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout?.on('data', (d) => out.push(d));
    child.stderr?.on('data', (d) => err.push(d));
    if (input !== undefined) child.stdin.end(input);
    child.on('error', (e) => reject(new SetupError(`cannot run ${cmd}: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      const stdout = binary ? Buffer.concat(out) : Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0 || allowFail) return resolve({ stdout, stderr, code });
      const tail = stderr.trim().split('\n').slice(-5).join('\n');
      reject(new SetupError(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})${tail ? `:\n${tail}` : ''}`));
    });
  });
}

/**
 * `a | b` without a shell: a's stdout feeds b's stdin. Both must succeed.
 */
export function pipe([cmdA, argsA], [cmdB, argsB], { cwd } = {}) {
  return new Promise((resolve, reject) => {
    const env = commandEnv();
    const a = spawn(cmdA, argsA, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const b = spawn(cmdB, argsB, { cwd, env, stdio: ['pipe', 'ignore', 'pipe'] });
    a.stdout.pipe(b.stdin);
    const errs = { a: '', b: '' };
    a.stderr.on('data', (d) => (errs.a += d));
    b.stderr.on('data', (d) => (errs.b += d));
    // b may close its stdin early (e.g. tar finished); that is not a failure of a.
    b.stdin.on('error', () => {});
    let pending = 2;
    let failed = null;
    const done = (name, cmd, args, code, signal) => {
      if (code !== 0 && !failed) {
        failed = new SetupError(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${errs[name].trim().split('\n').slice(-3).join('\n')}`);
      }
      if (--pending === 0) {
        if (failed) reject(failed);
        else resolve();
      }
    };
    a.on('error', (e) => reject(new SetupError(`cannot run ${cmdA}: ${e.message}`)));
    b.on('error', (e) => reject(new SetupError(`cannot run ${cmdB}: ${e.message}`)));
    a.on('close', (code, signal) => done('a', cmdA, argsA, code, signal));
    b.on('close', (code, signal) => done('b', cmdB, argsB, code, signal));
  });
}
