// Fault injection on one sim host (never a default): what tests arm through
// SimHost.faults, and the draws the host makes from it when a migration, a
// start or an arrival happens.
import { setTimeout as sleep } from 'node:timers/promises';
import { LibvirtError } from '../../agent/hypervisor/errors.ts';

/** Faults injected into one host. Each "next" fault is used once. */
export interface SimFaults {
  /** The next outgoing migration (live or offline) fails at this fraction of its data (0 = at once). */
  failNextMigration(opts?: { atFraction?: number; error?: Error }): void;
  /** The next outgoing live migration stops making progress at this fraction until aborted. */
  stallNextMigration(opts?: { atFraction?: number }): void;
  /** The host cannot be reached as a migration target or peer (libvirtd down, no route). */
  setUnreachable(unreachable: boolean): void;
  /** The next start of a server on this host fails. */
  failNextStart(error?: Error): void;
  /**
   * Every outgoing migration fails (at a random fraction of its data) with
   * probability `failRate`, or stalls with probability `stallRate`; `random`
   * makes a chaos run repeatable (default Math.random).
   */
  setMigrationFaultRates(rates: { failRate?: number; stallRate?: number; random?: () => number }): void;
  /** Every query of this hypervisor (facts, server lists, job stats) answers this many ms late (0 = at once). */
  setLatency(ms: number): void;
  /**
   * The next server that arrives on this host (a live move's switch-over, or
   * a start: a cold move) fails `afterMs` later: 'crash' = its kernel panics
   * with a pvpanic device (state crashed (panicked), a Crashed event);
   * 'reboot' = it panics and resets itself (a reboot event, still running).
   */
  crashNextArrival(opts?: { kind?: 'crash' | 'reboot'; afterMs?: number }): void;
  /** Clears every pending fault. */
  clear(): void;
}

/** A failure armed for an outgoing migration: at this fraction of its data, with this error (null = a generic LibvirtError). */
export interface SimMigrationFailure {
  atFraction: number;
  error: Error | null;
}

/** The faults armed on one host. Each "next" fault is used once (the take* calls). */
export class SimFaultState implements SimFaults {
  unreachable = false;
  private nextFail: SimMigrationFailure | null = null;
  private nextStall: { atFraction: number } | null = null;
  private nextStartFailure: Error | null = null;
  private rates = { failRate: 0, stallRate: 0, random: Math.random };
  private latencyMs = 0;
  private nextArrivalCrash: { kind: 'crash' | 'reboot'; afterMs: number } | null = null;

  // Arrow functions, so `const { failNextMigration } = host.faults` works as before.
  failNextMigration: SimFaults['failNextMigration'] = (opts = {}) => {
    this.nextFail = { atFraction: opts.atFraction ?? 0.5, error: opts.error ?? null };
  };
  stallNextMigration: SimFaults['stallNextMigration'] = (opts = {}) => {
    this.nextStall = { atFraction: opts.atFraction ?? 0.3 };
  };
  setUnreachable: SimFaults['setUnreachable'] = (u) => {
    this.unreachable = u;
  };
  failNextStart: SimFaults['failNextStart'] = (error) => {
    this.nextStartFailure = error ?? new LibvirtError('simulated start failure');
  };
  setMigrationFaultRates: SimFaults['setMigrationFaultRates'] = (r) => {
    this.rates = { failRate: r.failRate ?? 0, stallRate: r.stallRate ?? 0, random: r.random ?? Math.random };
  };
  setLatency: SimFaults['setLatency'] = (ms) => {
    this.latencyMs = Math.max(0, ms);
  };
  crashNextArrival: SimFaults['crashNextArrival'] = (opts = {}) => {
    this.nextArrivalCrash = { kind: opts.kind ?? 'crash', afterMs: opts.afterMs ?? 50 };
  };
  clear: SimFaults['clear'] = () => {
    this.nextArrivalCrash = null;
    this.nextFail = null;
    this.nextStall = null;
    this.nextStartFailure = null;
    this.unreachable = false;
    this.rates = { failRate: 0, stallRate: 0, random: Math.random };
    this.latencyMs = 0;
  };

  /** The failure the next outgoing migration meets: the armed one, else one drawn from the rate (setMigrationFaultRates), or none. */
  takeMigrationFailure(): SimMigrationFailure | null {
    const fail = this.nextFail ?? this.rolledFailure();
    this.nextFail = null;
    return fail;
  }

  /** Where the next live migration stalls: the armed stall, else one drawn from the rate, or none. Drawn after takeMigrationFailure. */
  takeStall(): { atFraction: number } | null {
    const stall = this.nextStall ?? (this.rates.random() < this.rates.stallRate ? { atFraction: this.rates.random() * 0.9 } : null);
    this.nextStall = null;
    return stall;
  }

  /** The armed start failure, if any (used once). */
  takeStartFailure(): Error | null {
    const err = this.nextStartFailure;
    this.nextStartFailure = null;
    return err;
  }

  /** The armed arrival crash, if any (used once). */
  takeArrivalCrash(): { kind: 'crash' | 'reboot'; afterMs: number } | null {
    const fault = this.nextArrivalCrash;
    this.nextArrivalCrash = null;
    return fault;
  }

  /** The configured answer latency (setLatency). */
  async lag(): Promise<void> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
  }

  /** A failure drawn from the configured rate (setMigrationFaultRates), or none. */
  private rolledFailure(): SimMigrationFailure | null {
    const { failRate, random } = this.rates;
    return failRate > 0 && random() < failRate ? { atFraction: random() * 0.9, error: null } : null;
  }
}
