// The wrapper every command action runs in: it builds the context from the
// parsed flags, maps any error to one stderr line and an exit code (exit.ts),
// stores the exit code for runCli, and closes the client.
import type { Command } from 'commander';
import { Ctx, type CliIo, type GlobalFlags } from './context.ts';
import { describeError, EXIT, type ExitCode } from './exit.ts';

/** A command's body: resolves to its exit code (nothing = success). */
export type Action<A extends unknown[]> = (ctx: Ctx, ...args: A) => Promise<ExitCode | void>;

/** Turns a command body into a commander action; errorContext feeds the error advice. */
export type Act = <A extends unknown[]>(fn: Action<A>, errorContext?: Ctx['errorContext']) => (...args: unknown[]) => Promise<void>;

export function actionRunner(io: CliIo, result: { exitCode: ExitCode }): Act {
  return <A extends unknown[]>(fn: Action<A>, errorContext: Ctx['errorContext'] = {}) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const ctx = new Ctx(io, cmd.optsWithGlobals<GlobalFlags>());
      ctx.errorContext = errorContext;
      try {
        result.exitCode = (await fn(ctx, ...(args.slice(0, -1) as A))) ?? EXIT.OK;
      } catch (err) {
        const report = describeError(err, { ...ctx.errorContext, address: ctx.address, timeoutMs: ctx.timeoutMs, tls: ctx.tls });
        io.err.write(`${report.line}\n`);
        result.exitCode = report.exitCode;
      } finally {
        ctx.close();
      }
    };
}
