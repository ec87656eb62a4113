// pino JSON logs. Components take a Logger and bind context with child
// loggers (hostId, opId, migrationId) instead of repeating it per line.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(name: string, level: LevelWithSilent = (process.env.DRYDOCK_LOG_LEVEL as LevelWithSilent) || 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything: for unit tests of components. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
