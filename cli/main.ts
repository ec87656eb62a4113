// Entry point of the `drydock` CLI (bin/drydock.mjs runs it through tsx).
// Owns the process: Ctrl-C handling and the exit code.
import { runCli } from './program.ts';
import { EXIT } from './exit.ts';
import { session } from './session.ts';

// Node's deprecation notices (e.g. grpc-js naming an IP as TLS server name)
// are for developers; an operator's terminal shows drydock's own lines only.
process.noDeprecation = true;

const interrupt = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  // First Ctrl-C: detach cleanly (bars stopped, advice printed). Second: leave now.
  // Nothing followed (a plain call in flight): leave now.
  if (interrupted || !session.following) {
    if (session.changeInFlight) {
      process.stderr.write(
        `\ndrydock: interrupted while ${session.changeInFlight} was in flight — it may still take effect; check the current state before retrying\n`,
      );
    }
    process.exit(EXIT.INTERRUPTED);
  }
  interrupted = true;
  interrupt.abort();
  // Should detaching hang on a dead connection, do not hang with it.
  setTimeout(() => process.exit(EXIT.INTERRUPTED), 3000).unref();
});
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // `drydock hosts | head` closes the pipe early: not an error.
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await runCli(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env, interrupt: interrupt.signal });
process.exit(interrupted && code === EXIT.OK ? EXIT.INTERRUPTED : code);
