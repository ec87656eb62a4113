// Records an earlier agent process left unfinished: ask the hypervisors
// where the server is now and close each record accordingly, never
// replaying the migration. A job libvirt still runs is followed to its end
// (or aborted past its deadline); what cannot be decided yet (a hypervisor
// or the target silent) is asked again in the background until it is.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logging.ts';
import { NotFoundError, errorMessage, type DrydockError } from '../../common/errors.ts';
import type { MigrationPhase } from '../../common/generated/drydock/agent/v1/MigrationPhase.ts';
import type { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';
import type { Hypervisor, Server } from '../hypervisor/hypervisor.ts';
import type { MigrationStore, StoredMigration } from './store.ts';
import { migrationDeadline } from '../../common/migration-deadline.ts';
import { MigrationCancelledError, MigrationOutcomeUnknownError, ServerDefinedTwiceError } from './errors.ts';
import { errorInfo, type MigrationSettings } from './flow.ts';
import { removeStaleCopy } from './stale.ts';
import { moveVerdict } from '../../common/move-verdict.ts';
import { verdictOnMovedGuest, verdictText } from './guest-health.ts';

/** How often undecided records are reconciled again. */
const RECONCILE_RETRY_MS = 15_000;
/** How long start-up waits to decide one left-over record before following it in the background. */
const RECONCILE_AT_START_MS = 5_000;
/** How often a migration libvirt still runs after an agent restart is looked at. */
const FOLLOW_POLL_MS = 1_000;

type Verdict = 'decided' | 'following' | 'undecided';

/** Where the server of a left-over record is (its state there); `targetAnswered` false when the target did not answer (then `there` is unknown). */
interface Location {
  here: Server | null;
  there: ServerState | null;
  targetAnswered: boolean;
}

export interface ReconcilerOptions {
  hv: Hypervisor;
  hostId: string;
  store: MigrationStore;
  settings: MigrationSettings;
  log: Logger;
}

export class Reconciler {
  /** Server uuid (lower case) → a record an earlier agent left that is not decided yet. */
  private readonly undecided = new Map<string, StoredMigration>();
  /** Stops the background retries on close(). */
  private readonly closer = new AbortController();
  private retrying: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ReconcilerOptions) {}

  /** The record of this server an earlier agent left and that is not decided yet, if any. */
  undecidedFor(uuid: string): StoredMigration | undefined {
    return this.undecided.get(uuid.toLowerCase());
  }

  /** Decides the unfinished records of an earlier process (each in bounded time); follows the rest in the background. */
  async start(unfinished: StoredMigration[], signal?: AbortSignal): Promise<void> {
    let following = false;
    for (const rec of unfinished) {
      // Bounded: libvirt answers queries about a domain in a migration job
      // only when the job ends, and the agent must serve meanwhile. What is
      // not decided now is followed in the background.
      const bounded = AbortSignal.any([AbortSignal.timeout(RECONCILE_AT_START_MS), ...(signal ? [signal] : [])]);
      const verdict = await this.reconcile(rec, bounded).catch(() => 'undecided' as const);
      if (verdict === 'decided') continue;
      this.undecided.set(rec.migration.server_uuid.toLowerCase(), rec);
      following ||= verdict === 'following';
    }
    if (this.undecided.size) this.retrying = this.retry(following);
  }

  /** Stops the background retries (what is undecided stays so until the next start). */
  async close(): Promise<void> {
    this.closer.abort();
    await this.retrying;
  }

  /**
   * Records not decided at start (a job libvirt still runs, post-copy
   * finishing, hypervisor or target silent): asked again until decided. A
   * followed job is asked about cheaply (domjobinfo) and its end is what a
   * drain waits for: looked at often. Silent hosts: the usual pace.
   */
  private async retry(following: boolean): Promise<void> {
    const signal = this.closer.signal;
    const retryMs = this.opts.settings.reconcileRetryMs ?? RECONCILE_RETRY_MS;
    while (this.undecided.size && !signal.aborted) {
      try {
        await sleep(following ? Math.min(retryMs, FOLLOW_POLL_MS) : retryMs, undefined, { signal });
      } catch {
        return;
      }
      following = false;
      for (const [key, rec] of [...this.undecided]) {
        const verdict = await this.reconcile(rec, signal).catch(() => 'undecided' as const);
        if (verdict === 'decided') this.undecided.delete(key);
        following ||= verdict === 'following';
      }
    }
  }

  /**
   * One left-over record: 'decided' (closed), 'following' (libvirt still
   * runs its job: look again soon) or 'undecided' (a hypervisor did not
   * answer: look again later).
   */
  private async reconcile(rec: StoredMigration, signal?: AbortSignal): Promise<Verdict> {
    const m = rec.migration;
    const log = this.opts.log.child({ migrationId: m.migration_id, serverUuid: m.server_uuid });
    if (await this.followsJob(rec, signal, log)) return 'following';
    const where = await this.locate(rec, signal, log);
    if (!where) return 'undecided';
    return this.decide(rec, where, signal, log);
  }

  /**
   * First the job, which libvirt reports while it runs (domjobinfo): the
   * other queries about this domain wait until the job ends, so asking them
   * first would follow a migration that never converges forever. True while
   * the job is to be followed; a job past its deadline is aborted (false).
   */
  private async followsJob(rec: StoredMigration, signal: AbortSignal | undefined, log: Logger): Promise<boolean> {
    const m = rec.migration;
    const job = await this.opts.hv.jobStats(m.server_uuid, signal).catch(() => null);
    if (!job) return false;
    const known = this.undecided.has(m.server_uuid.toLowerCase());
    if (job.postCopy) {
      // Never abort in post-copy: libvirt finishes the job; a later pass finds the server on the target.
      if (!known) log.info('migration in post-copy at agent start: waiting for libvirt to finish it');
      return true;
    }
    const deadlineAtMs = this.deadlineOf(rec);
    if (Date.now() <= deadlineAtMs) {
      // libvirt (p2p) drives the job without us: follow it to its end
      // rather than throw away the work; a later pass decides by location.
      if (!known) log.info({ deadlineAtMs }, 'migration still running in libvirt after an agent restart: following it');
      return true;
    }
    log.warn({ deadlineAtMs }, 'migration left by the previous agent is past its deadline: aborting it');
    await this.opts.hv.abortJob(m.server_uuid, signal).catch(() => undefined);
    return false;
  }

  /** Asks both hosts; null when our own hypervisor did not answer (only "not here" is an answer). */
  private async locate(rec: StoredMigration, signal: AbortSignal | undefined, log: Logger): Promise<Location | null> {
    const m = rec.migration;
    const where: Location = { here: null, there: null, targetAnswered: true };
    try {
      where.there = await this.opts.hv.stateOn(m.target_uri, m.server_uuid, signal);
    } catch (err) {
      where.targetAnswered = false;
      log.warn({ err: errorMessage(err) }, 'target not reachable while reconciling');
    }
    try {
      where.here = await this.opts.hv.getServer(m.server_uuid, signal);
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        log.warn({ err: errorMessage(err) }, 'local hypervisor did not answer while reconciling; will retry');
        return null;
      }
    }
    return where;
  }

  /** Closes the record by where the server is. */
  private async decide(rec: StoredMigration, { here, there, targetAnswered }: Location, signal: AbortSignal | undefined, log: Logger): Promise<Verdict> {
    const m = rec.migration;
    const hv = this.opts.hv;
    if (there && !here) {
      let now = there;
      if (m.mode === 'MIGRATION_MODE_COLD' && m.was_running && there !== 'SERVER_STATE_RUNNING') {
        try {
          await hv.startOn(m.target_uri, m.server_uuid, signal);
          now = 'SERVER_STATE_RUNNING';
        } catch (err) {
          await this.finish(
            rec,
            'MIGRATION_PHASE_FAILED',
            new MigrationOutcomeUnknownError(`server moved but could not be started on the target: ${errorMessage(err)}`),
            'moved, start failed',
            log,
          );
          return 'decided';
        }
      }
      // The one rule (common/move-verdict.ts): on the target alone, in the power state it had.
      // A guest that ran and is now on the target alone but not running
      // did move: it crashed or stopped there, which the guest's verdict
      // below reports (guest-health.ts), rather than a failed move.
      const v = moveVerdict({ source: null, target: now, expectRunning: m.was_running, sourceHostId: this.opts.hostId, targetHostId: m.target_host_id });
      if (!v.complete && !m.was_running) {
        await this.finish(
          rec,
          'MIGRATION_PHASE_FAILED',
          new MigrationOutcomeUnknownError(`agent restarted mid-migration: ${v.reason}`),
          'moved, wrong power state',
          log,
        );
        return 'decided';
      }
      for (const p of rec.localDisks) await hv.removeLocalDisk(p, signal).catch(() => undefined);
      // The move ended while no agent watched it: its guest is judged now
      // (guest-health.ts), by its state and reason only: the reconcile at
      // start is bounded (RECONCILE_AT_START_MS), and a window opened after
      // the fact would miss what happened at the switch-over anyway. A
      // pvpanic crash stays visible in the state ("running (crashed)").
      if (m.was_running) {
        const guest = await verdictOnMovedGuest(hv, m, 0, signal);
        Object.assign(m, { guest_health: guest.health, guest_health_detail: guest.detail });
        if (guest.health !== 'GUEST_HEALTH_ALIVE') log.warn({ guestHealth: guest.health, detail: guest.detail }, verdictText(guest));
      }
      await this.finish(rec, 'MIGRATION_PHASE_COMPLETED', null, 'server found on the target', log);
      return 'decided';
    }
    if (here && there) return this.decideTwoCopies(rec, here, there, signal, log);
    if (here) {
      if (m.mode === 'MIGRATION_MODE_COLD' && m.was_running && here.state === 'SERVER_STATE_SHUTOFF') {
        // Only once the target has said it does not hold the server: a silent
        // target may be running it. Asked again later.
        if (!targetAnswered) {
          log.warn('cold move interrupted and the target is silent: the server is not restarted here until the target answers');
          return 'undecided';
        }
        await hv.start(m.server_uuid, signal).catch((err) => log.error({ err: errorMessage(err) }, 'could not restart the server on the source'));
      }
      await this.finish(
        rec,
        'MIGRATION_PHASE_ABORTED',
        new MigrationCancelledError('agent restarted mid-migration; the server stays on the source'),
        'server still on the source',
        log,
      );
      return 'decided';
    }
    // Not here, and the target did not answer: it may well be there. Ask again later.
    if (!targetAnswered) return 'undecided';
    await this.finish(
      rec,
      'MIGRATION_PHASE_FAILED',
      new MigrationOutcomeUnknownError(`agent restarted mid-migration and the server is on neither ${this.opts.hostId} nor ${m.target_host_id} `),
      'unknown',
      log,
    );
    return 'decided';
  }

  /**
   * Defined on both hosts (libvirt defined the target and never undefined
   * the source). A shut-off copy beside one that runs is stale and is
   * undefined (stale.ts); then the record is closed by where the server is.
   * Otherwise (both shut off, both running) touch neither: starting or
   * moving one could run the server twice on the same data.
   */
  private async decideTwoCopies(rec: StoredMigration, here: Server, there: ServerState, signal: AbortSignal | undefined, log: Logger): Promise<Verdict> {
    const m = rec.migration;
    const copies = {
      uuid: m.server_uuid,
      here: here.state,
      there,
      hostId: this.opts.hostId,
      targetHostId: m.target_host_id,
      targetUri: m.target_uri,
      expectRunning: m.was_running,
    };
    let cleaned: Awaited<ReturnType<typeof removeStaleCopy>>;
    try {
      cleaned = await removeStaleCopy(this.opts.hv, copies, signal);
    } catch (err) {
      const conflict =
        err instanceof ServerDefinedTwiceError
          ? err
          : new ServerDefinedTwiceError(
              `server ${m.server_uuid} is defined on both ${this.opts.hostId} (${here.state}) and ${m.target_host_id} (${there}); ` +
                `the stale copy could not be undefined: ${errorMessage(err)}`,
              { details: { server: m.server_uuid, target: m.target_host_id } },
            );
      log.error({ sourceState: here.state, targetState: there }, conflict.message);
      await this.finish(rec, 'MIGRATION_PHASE_FAILED', conflict, 'defined on both hosts', log);
      return 'decided';
    }
    log.warn({ removed: cleaned.removed }, cleaned.note);
    if (cleaned.removed === 'source') return this.decide(rec, { here: null, there, targetAnswered: true }, signal, log);
    await this.finish(
      rec,
      'MIGRATION_PHASE_ABORTED',
      new MigrationCancelledError(`agent restarted mid-migration; the server stays on the source (${here.state}); ${cleaned.note}`),
      'server still on the source',
      log,
    );
    return 'decided';
  }

  private async finish(rec: StoredMigration, phase: MigrationPhase, error: DrydockError | null, message: string, log: Logger): Promise<void> {
    const m = rec.migration;
    Object.assign(m, { phase, error: error ? errorInfo(error) : null, finished_at_ms: Date.now(), updated_at_ms: Date.now() });
    if (phase === 'MIGRATION_PHASE_COMPLETED') Object.assign(m, { percent: 100, bytes_remaining: 0 });
    await this.opts.store.save(rec);
    log.info({ phase, message }, 'reconciled migration left unfinished by a previous agent');
  }

  /** When a live transfer must be over: stored when it started, else derived as the live flow would (records of older agents). */
  private deadlineOf(rec: StoredMigration): number {
    if (rec.deadlineAtMs !== undefined) return rec.deadlineAtMs;
    const s = this.opts.settings;
    const m = rec.migration;
    return m.started_at_ms + migrationDeadline(Number(m.bytes_total), { perGiB: s.deadlinePerGiBMs, min: s.minDeadlineMs, requested: rec.request.deadline_ms });
  }
}
