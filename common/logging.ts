// pino JSON logs. Components take a Logger and bind context with child
// loggers (hostId, opId, migrationId) instead of repeating it per line.
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { redactDeep, redactText } from './redact.ts';

export type { Logger };

/**
 * The daemons' logger. Every line passes through common/redact.ts: URL
 * user-info (NATS credentials) and bearer tokens never reach the log, even
 * inside an error message. `destination` is for tests (default stdout).
 */
export function createLogger(
  name: string,
  level: LevelWithSilent = (process.env.DRYDOCK_LOG_LEVEL as LevelWithSilent) || 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { log: (obj: Record<string, unknown>) => redactDeep(obj) },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? redactText(a) : a)),
        );
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that drops everything: for unit tests of components. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
