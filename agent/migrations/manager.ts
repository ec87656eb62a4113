// The agent's migration manager: one persisted record per migration id,
// idempotent by that id (a running id attaches, a finished id returns its
// final record and never runs again), the live and cold flows, the monitor
// loop that applies the pure decisions of ./monitor.ts, abort, and the
// reconcile of records left unfinished by an agent restart.
import type { AgentConfig } from '../config.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { Logger } from '../../common/logging.ts';
import { DeadlineExceededError, DrydockError, FailedPreconditionError, InvalidArgumentError, NotFoundError, errorMessage } from '../../common/errors.ts';
import type { Hypervisor, Server } from '../hypervisor/hypervisor.ts';
import type { Migration } from '../../common/generated/drydock/agent/v1/Migration.ts';
import type { MigrationEvent } from '../../common/generated/drydock/agent/v1/MigrationEvent.ts';
import type { MigrationPhase } from '../../common/generated/drydock/agent/v1/MigrationPhase.ts';
import type { MigrateServerRequest } from '../../common/generated/drydock/agent/v1/MigrateServerRequest.ts';
import type { ErrorInfo } from '../../common/generated/drydock/agent/v1/ErrorInfo.ts';
import { MigrationStore, type StoredMigration } from './store.ts';
import { initialMonitorState, migrationDeadlineMs, observe, shouldAbort, shouldSwitchToPostCopy, type MonitorState } from './monitor.ts';
import {
  AbortRefusedError,
  MigrationCancelledError,
  MigrationIdConflictError,
  MigrationOutcomeUnknownError,
  MigrationStalledError,
  MigrationTimedOutError,
  MigrationVerificationError,
  ServerBusyError,
  ServerDefinedTwiceError,
  TooManyMigrationsError,
} from './errors.ts';

/** How often undecided records are reconciled again. */
const RECONCILE_RETRY_MS = 15_000;
/** How long start-up waits to decide one left-over record before following it in the background. */
const RECONCILE_AT_START_MS = 5_000;
/** How often a migration libvirt still runs after an agent restart is looked at. */
const FOLLOW_POLL_MS = 1_000;

export const TERMINAL_PHASES: ReadonlySet<MigrationPhase> = new Set(['MIGRATION_PHASE_COMPLETED', 'MIGRATION_PHASE_FAILED', 'MIGRATION_PHASE_ABORTED']);

export function isTerminal(m: Pick<Migration, 'phase'>): boolean {
  return TERMINAL_PHASES.has(m.phase);
}

/**
 * The agent config's migration section (documented field by field in
 * agent/config.ts), plus what only tests tune.
 */
export type MigrationSettings = Omit<AgentConfig['migration'], 'recordRetentionMs'> & {
  /** Finished records older than this are deleted at open() (0 = never). */
  recordRetentionMs?: number;
  /** How often records undecided at start are reconciled again (default 15 s). */
  reconcileRetryMs?: number;
};

export interface MigrationManagerOptions {
  hostId: string;
  hypervisor: Hypervisor;
  stateDir: string;
  settings: MigrationSettings;
  /** Path prefixes declared shared in config (no copy; --unsafe when libvirt cannot tell). */
  sharedPathPrefixes: string[];
  log: Logger;
  /** Told when a migration ends (Prometheus counters). */
  onEnded?: (mode: string, result: 'completed' | 'failed' | 'aborted', seconds: number, bytes: number) => void;
}

/** A validated MigrateServer request (server.ts validates the wire input). */
export type MigrationRequest = MigrateServerRequest;

export type MigrationListener = (event: MigrationEvent) => void;

interface Running {
  stored: StoredMigration;
  listeners: Set<MigrationListener>;
  /** Aborting it cancels the hypervisor job (the guest stays on the source). */
  job: AbortController;
  /** Why the job was cancelled, when it was on purpose. */
  cancel: { by: 'operator' | 'monitor' | 'shutdown'; error: DrydockError } | null;
  /** Set once a cold move passed the point where abort could roll back. */
  pointOfNoReturn: boolean;
  done: Promise<Migration>;
}

export class MigrationManager {
  private readonly store: MigrationStore;
  private readonly records = new Map<string, StoredMigration>();
  private readonly running = new Map<string, Running>();
  /** Server uuid (lower case) → a record an earlier agent left that is not decided yet. */
  private readonly undecided = new Map<string, StoredMigration>();
  /** Ids whose start() is between validation and the record being written. */
  private readonly starting = new Map<string, Promise<Migration>>();
  private readonly hv: Hypervisor;
  private readonly log: Logger;
  private closed = false;
  /** Stops background work (the reconcile retries) on close(). */
  private readonly closer = new AbortController();
  private reconciling: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MigrationManagerOptions) {
    this.store = new MigrationStore(opts.stateDir);
    this.hv = opts.hypervisor;
    this.log = opts.log.child({ component: 'migrations' });
  }

  /** Loads records and reconciles those an earlier process left unfinished. */
  async open(signal?: AbortSignal): Promise<void> {
    const retention = this.opts.settings.recordRetentionMs ?? 0;
    for (const rec of await this.store.open()) {
      const m = rec.migration;
      if (retention > 0 && isTerminal(m) && m.finished_at_ms > 0 && Date.now() - m.finished_at_ms > retention) {
        await this.store.remove(m.migration_id);
        continue;
      }
      this.records.set(m.migration_id, rec);
    }
    let following = false;
    for (const rec of this.records.values()) {
      if (isTerminal(rec.migration)) continue;
      // Bounded: libvirt answers queries about a domain in a migration job
      // only when the job ends, and the agent must serve meanwhile. What is
      // not decided now is followed in the background.
      const bounded = AbortSignal.any([AbortSignal.timeout(RECONCILE_AT_START_MS), ...(signal ? [signal] : [])]);
      const verdict = await this.reconcile(rec, bounded).catch(() => 'undecided' as const);
      if (verdict === 'decided') continue;
      this.undecided.set(rec.migration.server_uuid.toLowerCase(), rec);
      following ||= verdict === 'following';
    }
    if (this.undecided.size) this.reconciling = this.retryReconcile(following);
  }

  /**
   * Records not decided at start (a job libvirt still runs, post-copy
   * finishing, hypervisor or target silent): asked again until decided. A
   * followed job is asked about cheaply (domjobinfo) and its end is what a
   * drain waits for: looked at often. Silent hosts: the usual pace.
   */
  private async retryReconcile(following: boolean): Promise<void> {
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

  /** Stops accepting work; running migrations get `graceMs` to finish, then are cancelled (guest stays on the source). */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    this.closer.abort();
    await this.reconciling;
    const all = [...this.running.values()];
    if (all.length) {
      const timeout = sleep(graceMs, 'timeout' as const);
      const finished = await Promise.race([Promise.all(all.map((r) => r.done)).then(() => 'done' as const), timeout]);
      if (finished === 'timeout') {
        for (const r of this.running.values()) this.cancel(r, 'shutdown', new MigrationCancelledError('agent shutting down'));
        await Promise.all(all.map((r) => r.done.catch(() => undefined)));
      }
    }
    await this.store.flush();
  }

  get(id: string): Migration {
    const rec = this.records.get(id);
    if (!rec) throw new NotFoundError('migration', id);
    return structuredClone(rec.migration);
  }

  list(): Migration[] {
    return [...this.records.values()].map((r) => structuredClone(r.migration));
  }

  runningCount(): number {
    return this.running.size;
  }

  /** True while a migration of this server runs here. */
  isMigrating(uuid: string): boolean {
    const key = uuid.toLowerCase();
    for (const r of this.running.values()) if (r.stored.migration.server_uuid.toLowerCase() === key) return true;
    return false;
  }

  /**
   * Starts a migration, or returns the existing one with that id. Rejects
   * with a typed error and records nothing when the request cannot start
   * (unknown server, target unreachable or this host, busy).
   */
  async start(req: MigrationRequest): Promise<{ migration: Migration; running: boolean }> {
    const id = req.migration_id;
    const existing = this.records.get(id);
    if (existing) return this.existing(existing, req);
    const pending = this.starting.get(id);
    if (pending) {
      await pending.catch(() => undefined);
      const rec = this.records.get(id);
      if (rec) return this.existing(rec, req);
    }
    const p = this.create(req);
    this.starting.set(id, p);
    try {
      const migration = await p;
      return { migration, running: this.running.has(id) };
    } finally {
      this.starting.delete(id);
    }
  }

  /** Registers a listener for a running migration's events; returns the detach function. */
  subscribe(id: string, listener: MigrationListener): () => void {
    const r = this.running.get(id);
    if (!r) return () => undefined;
    r.listeners.add(listener);
    return () => r.listeners.delete(listener);
  }

  /** Listeners attached to a running migration (0 when none or finished). */
  listenerCount(id: string): number {
    return this.running.get(id)?.listeners.size ?? 0;
  }

  /** Resolves with the final record (at once for a finished one). */
  async wait(id: string): Promise<Migration> {
    const r = this.running.get(id);
    if (r) return r.done;
    return this.get(id);
  }

  /** Cancels a running migration; the guest keeps running on this host. Refused in post-copy. */
  async abort(id: string, reason: string): Promise<Migration> {
    const rec = this.records.get(id);
    if (!rec) throw new NotFoundError('migration', id);
    const r = this.running.get(id);
    if (!r || isTerminal(rec.migration)) return structuredClone(rec.migration);
    if (rec.migration.phase === 'MIGRATION_PHASE_POST_COPY') {
      throw new AbortRefusedError(`migration ${id} is in post-copy: the guest's memory is split between the hosts and cannot be aborted`);
    }
    if (r.pointOfNoReturn) {
      throw new AbortRefusedError(`migration ${id} already moved the server's definition to the target; it can no longer be rolled back`);
    }
    this.cancel(r, 'operator', new MigrationCancelledError(`aborted by operator${reason ? `: ${reason}` : ''}`));
    return r.done;
  }

  // ---------------------------------------------------------------- start

  private existing(rec: StoredMigration, req: MigrationRequest): { migration: Migration; running: boolean } {
    const a = rec.request;
    if (a.server_uuid !== req.server_uuid || a.target_host_id !== req.target_host_id || a.mode !== req.mode || a.target_uri !== req.target_uri) {
      throw new MigrationIdConflictError('migration', rec.migration.migration_id, {
        details: { reason: `already used for server ${a.server_uuid} to ${a.target_host_id} (${a.mode})` },
      });
    }
    return { migration: structuredClone(rec.migration), running: this.running.has(rec.migration.migration_id) };
  }

  private async create(req: MigrationRequest): Promise<Migration> {
    if (this.closed) throw new FailedPreconditionError('agent is shutting down');
    if (req.target_host_id === this.opts.hostId) throw new InvalidArgumentError('target_host_id', `${req.target_host_id} is this host`);
    if (req.target_uri === this.hv.migrationUri) throw new InvalidArgumentError('target_uri', `${req.target_uri} is this host's own URI`);
    // Before any query: libvirt would not answer about that domain until its job ends.
    const earlier = this.undecided.get(req.server_uuid.toLowerCase());
    if (earlier) throw new ServerBusyError(`server ${req.server_uuid}: migration ${earlier.migration.migration_id}, left by the previous agent process, is still being followed`);
    // Both checks at once (each is a virsh round trip); the server's absence
    // is reported before the target's, as the more fundamental problem.
    const [here, there] = await Promise.allSettled([this.hv.getServer(req.server_uuid), this.hv.serverOn(req.target_uri, req.server_uuid)]);
    if (here.status === 'rejected') throw here.reason;
    const server = here.value;
    // Reaches the target (UNAVAILABLE if not) and makes sure no copy exists there.
    if (there.status === 'rejected') throw there.reason;
    if (there.value) throw new FailedPreconditionError(`server ${server.uuid} is already defined on ${req.target_host_id}`);
    await this.refuseIfDefinedTwice(server.uuid);
    for (const r of this.running.values()) {
      if (r.stored.migration.server_uuid === server.uuid) {
        throw new ServerBusyError(`server ${server.uuid} is already migrating (migration ${r.stored.migration.migration_id})`);
      }
    }
    if (this.running.size >= this.opts.settings.maxConcurrent) {
      throw new TooManyMigrationsError(`${this.running.size} migrations already running (limit ${this.opts.settings.maxConcurrent})`);
    }
    if (req.mode === 'MIGRATION_MODE_LIVE' && server.state !== 'SERVER_STATE_RUNNING' && server.state !== 'SERVER_STATE_PAUSED') {
      throw new FailedPreconditionError(`server ${server.uuid} is ${server.state}: only a running server moves live (use cold)`);
    }
    // A concurrent start of the same id may have won while we checked.
    const raced = this.records.get(req.migration_id);
    if (raced) return this.existing(raced, req).migration;

    const now = Date.now();
    const wasRunning = server.state !== 'SERVER_STATE_SHUTOFF' && server.state !== 'SERVER_STATE_CRASHED';
    const localDisks = this.localDisks(server).map((d) => d.path);
    const stored: StoredMigration = {
      version: 1,
      request: structuredClone(req),
      localDisks,
      migration: {
        migration_id: req.migration_id,
        server_uuid: server.uuid,
        server_name: server.name,
        mode: req.mode,
        source_host_id: this.opts.hostId,
        target_host_id: req.target_host_id,
        target_uri: req.target_uri,
        phase: 'MIGRATION_PHASE_PENDING',
        bytes_processed: 0,
        bytes_remaining: 0,
        bytes_total: 0,
        bandwidth_bps: 0,
        percent: 0,
        was_running: wasRunning,
        started_at_ms: now,
        updated_at_ms: now,
        finished_at_ms: 0,
        error: null,
        downtime_ms: 0,
        iteration: 0,
        copied_storage: false,
      },
    };
    // Registered before the first await, so a concurrent request for the same
    // server or id (or over the limit) sees it: checks and registration are one step.
    let settle!: (m: Migration) => void;
    const r: Running = {
      stored, listeners: new Set(), job: new AbortController(), cancel: null, pointOfNoReturn: false,
      done: new Promise<Migration>((resolve) => (settle = resolve)),
    };
    this.records.set(req.migration_id, stored);
    this.running.set(req.migration_id, r);
    try {
      await this.store.save(stored);
    } catch (err) {
      // No record on disk: no migration. Nothing ran yet.
      this.records.delete(req.migration_id);
      this.running.delete(req.migration_id);
      settle(structuredClone(stored.migration));
      throw err;
    }
    const log = this.log.child({ migrationId: req.migration_id, serverUuid: server.uuid, target: req.target_host_id, mode: req.mode });
    log.info({ wasRunning, localDisks }, 'migration started');
    void this.run(r, server, log)
      .finally(() => {
        this.running.delete(req.migration_id);
        r.listeners.clear();
      })
      .then(settle, () => settle(structuredClone(r.stored.migration)));
    return structuredClone(stored.migration);
  }

  private async run(r: Running, server: Server, log: Logger): Promise<Migration> {
    try {
      if (r.stored.request.mode === 'MIGRATION_MODE_COLD') await this.runCold(r, server, log);
      else await this.runLive(r, server, log);
      this.countEnded(r, 'completed');
      this.release(r);
      this.update(r, { phase: 'MIGRATION_PHASE_COMPLETED', percent: 100, bytes_remaining: 0, finished_at_ms: Date.now() }, 'completed', true);
      log.info({ ms: Date.now() - r.stored.migration.started_at_ms }, 'migration completed');
    } catch (err) {
      const cancelled = r.cancel;
      const final = cancelled?.error ?? (err instanceof DrydockError ? err : new MigrationOutcomeUnknownError(errorMessage(err), { cause: err }));
      const phase: MigrationPhase = cancelled && cancelled.by !== 'monitor' ? 'MIGRATION_PHASE_ABORTED' : 'MIGRATION_PHASE_FAILED';
      const where = await this.whereIsAfterFailure(r);
      this.countEnded(r, phase === 'MIGRATION_PHASE_ABORTED' ? 'aborted' : 'failed');
      this.release(r);
      this.update(r, { phase, error: errorInfo(final), finished_at_ms: Date.now() }, `${phase === 'MIGRATION_PHASE_ABORTED' ? 'aborted' : 'failed'}: ${final.message}${where}`, true);
      log.warn({ err: final.message, kind: final.kind, phase }, 'migration ended without moving the server');
    }
    await this.store.flush().catch(() => undefined);
    return structuredClone(r.stored.migration);
  }

  /**
   * Counts a migration that is about to end, before its terminal event goes
   * out: whoever sees the event finds it counted.
   */
  private countEnded(r: Running, result: 'completed' | 'failed' | 'aborted'): void {
    const m = r.stored.migration;
    // A job that ends between two polls leaves no last sample: the planned size stands in.
    const moved = Number(m.bytes_processed) || (result === 'completed' ? Number(m.bytes_total) : 0);
    this.opts.onEnded?.(m.mode === 'MIGRATION_MODE_COLD' ? 'cold' : 'live', result, Math.max(0, (Date.now() - m.started_at_ms) / 1000), moved);
  }

  /**
   * Frees the migration's slot (and its server) before its terminal event
   * goes out: whoever sees the event may start the next migration at once
   * and must not be refused as over the limit. Synchronous with the event,
   * so no request sees a finished slot with a non-terminal record.
   */
  private release(r: Running): void {
    this.running.delete(r.stored.migration.migration_id);
  }

  /** After a failure: make sure the guest is where it should be and say so. */
  private async whereIsAfterFailure(r: Running): Promise<string> {
    const m = r.stored.migration;
    try {
      const here = await this.hv.getServer(m.server_uuid);
      return `; server remains on ${this.opts.hostId} (${here.state})`;
    } catch (err) {
      if (err instanceof NotFoundError) return `; server is no longer on ${this.opts.hostId}`;
      return '';
    }
  }

  private cancel(r: Running, by: 'operator' | 'monitor' | 'shutdown', error: DrydockError): void {
    if (r.cancel) return;
    r.cancel = { by, error };
    r.job.abort(error);
  }

  // ---------------------------------------------------------------- live

  private async runLive(r: Running, server: Server, log: Logger): Promise<void> {
    const req = r.stored.request;
    const s = this.opts.settings;
    this.update(r, { phase: 'MIGRATION_PHASE_PREPARING' }, 'preparing');
    const local = this.localDisks(server);
    // libvirt trusts only network/cluster filesystems as shared; a disk on a
    // path the config declares shared needs --unsafe (and only such a disk).
    const unsafe = server.disks.some((d) => d.path !== '' && d.type !== 'network' && this.declaredShared(d.path));
    const copyStorage = local.length > 0;
    const bytes = server.memory_bytes + local.reduce((sum, d) => sum + d.allocation_bytes, 0);
    const deadlineMs = migrationDeadlineMs({ bytesToCopy: bytes, perGiBMs: s.deadlinePerGiBMs, minMs: s.minDeadlineMs, requestedMs: req.deadline_ms });
    const stallTimeoutMs = req.stall_timeout_ms > 0 ? req.stall_timeout_ms : s.stallTimeoutMs;
    // Persisted with the TRANSFERRING update below: a restarted agent follows the job until then.
    r.stored.deadlineAtMs = Date.now() + deadlineMs;
    this.update(r, { phase: 'MIGRATION_PHASE_TRANSFERRING', bytes_total: bytes, bytes_remaining: bytes, copied_storage: copyStorage }, `transferring ${mib(bytes)} MiB${copyStorage ? ` (copying ${local.length} local disk(s))` : ''}${unsafe ? ' (--unsafe: declared shared storage)' : ''}`, true);
    log.info({ copyStorage, unsafe, deadlineMs, stallTimeoutMs }, 'live migration running');

    let settled = false;
    const job = this.hv
      .migrateLive({
        uuid: server.uuid,
        targetUri: req.target_uri,
        copyStorage,
        unsafe,
        postCopy: req.allow_post_copy,
        autoConverge: req.allow_auto_converge,
        bandwidthMiBps: req.max_bandwidth_mibps,
        signal: r.job.signal,
      })
      .finally(() => {
        settled = true;
      });
    job.catch(() => undefined);

    const poller = new AbortController();
    const monitor = this.monitorLive(r, server.uuid, { deadlineMs, stallTimeoutMs, allowPostCopy: req.allow_post_copy }, poller.signal, log);
    try {
      await job;
    } finally {
      poller.abort();
      await monitor;
    }
    if (!settled) throw new MigrationOutcomeUnknownError('migration job did not settle');

    // Trust but verify: the guest must now run on the target, and not here.
    const there = await this.hv.serverOn(req.target_uri, server.uuid);
    if (!there) throw new MigrationVerificationError(`migration reported success but ${server.uuid} is not on ${req.target_host_id}`);
    r.pointOfNoReturn = true;
    await this.cleanupSource(r, log);
  }

  /** Polls job stats until `stop` aborts; applies the monitor's decisions. */
  private async monitorLive(
    r: Running,
    uuid: string,
    limits: { deadlineMs: number; stallTimeoutMs: number; allowPostCopy: boolean },
    stop: AbortSignal,
    log: Logger,
  ): Promise<void> {
    let state: MonitorState = initialMonitorState(Date.now());
    let lastIteration = -1;
    while (!stop.aborted) {
      try {
        await sleep(this.opts.settings.pollIntervalMs, undefined, { signal: stop });
      } catch {
        return;
      }
      let stats;
      try {
        stats = await this.hv.jobStats(uuid, stop);
      } catch (err) {
        if (stop.aborted) return;
        log.debug({ err: errorMessage(err) }, 'job stats unavailable');
        continue;
      }
      if (stop.aborted) return;
      const now = Date.now();
      // libvirt's first samples carry only the elapsed time: nothing to show yet.
      const hasData = stats !== null && (stats.dataProcessed > 0 || stats.dataRemaining > 0 || stats.dataTotal > 0);
      if (stats && !hasData) state = observe(state, stats, now);
      if (stats && hasData) {
        state = observe(state, stats, now);
        const m = r.stored.migration;
        const phase: MigrationPhase = state.postCopy ? 'MIGRATION_PHASE_POST_COPY' : 'MIGRATION_PHASE_TRANSFERRING';
        const total = Math.max(stats.dataTotal, stats.dataProcessed + stats.dataRemaining, m.bytes_total);
        const msg =
          phase !== m.phase ? 'switched to post-copy' : stats.iteration !== lastIteration && stats.iteration > 0 ? `memory iteration ${stats.iteration}` : `${state.percent.toFixed(1)}%`;
        lastIteration = stats.iteration;
        this.update(
          r,
          {
            phase,
            bytes_processed: stats.dataProcessed,
            bytes_remaining: stats.dataRemaining,
            bytes_total: total,
            bandwidth_bps: stats.memoryBandwidth + stats.diskBandwidth,
            percent: Math.max(m.percent, state.percent),
            iteration: stats.iteration,
            downtime_ms: stats.downtimeMs || m.downtime_ms,
          },
          msg,
          phase !== m.phase,
        );
        if (shouldSwitchToPostCopy(state, stats, now, { allowPostCopy: limits.allowPostCopy, afterIterations: this.opts.settings.postCopyAfterIterations, deadlineMs: limits.deadlineMs })) {
          log.info({ iteration: stats.iteration }, 'not converging: switching to post-copy');
          try {
            await this.hv.startPostCopy(uuid, stop);
            state = { ...state, postCopy: true };
          } catch (err) {
            log.warn({ err: errorMessage(err) }, 'switch to post-copy failed');
          }
        }
      }
      const decision = shouldAbort(state, now, limits);
      if (decision.abort) {
        log.warn({ reason: decision.reason }, decision.message);
        const error = decision.reason === 'stalled' ? new MigrationStalledError(`migration stalled: ${decision.message}`) : new MigrationTimedOutError(`migration timed out: ${decision.message}`);
        this.cancel(r, 'monitor', error);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- cold

  private async runCold(r: Running, server: Server, log: Logger): Promise<void> {
    const req = r.stored.request;
    const signal = r.job.signal;
    const m = r.stored.migration;
    this.update(r, { phase: 'MIGRATION_PHASE_PREPARING' }, 'preparing');
    const local = this.localDisks(server);
    const total = local.reduce((sum, d) => sum + d.allocation_bytes, 0);
    this.update(r, { bytes_total: total, bytes_remaining: total, copied_storage: local.length > 0 }, `cold move of ${m.was_running ? 'a running' : 'a shut-off'} server`);

    let shutdownAsked = false;
    // Disk copies made on the target in this attempt: removed again if the
    // move fails before the definition leaves (nothing there uses them).
    const copied: string[] = [];
    try {
      if (m.was_running) {
        this.update(r, { phase: 'MIGRATION_PHASE_SHUTTING_DOWN' }, 'shutting down', true);
        const timeoutMs = req.shutdown_timeout_ms > 0 ? req.shutdown_timeout_ms : this.opts.settings.shutdownTimeoutMs;
        shutdownAsked = true;
        const how = await stopServer(this.hv, server.uuid, { timeoutMs, force: true, signal, pollMs: Math.min(500, this.opts.settings.pollIntervalMs) });
        this.update(r, {}, how === 'destroyed' ? `no shutdown within ${Math.round(timeoutMs / 1000)} s: powered off` : 'shut down');
      }
      this.update(r, { phase: 'MIGRATION_PHASE_TRANSFERRING' }, 'moving', true);
      let done = 0;
      for (const d of local) {
        signal.throwIfAborted();
        // Counted once written: a refused copy (the file already exists
        // there) is not ours, and one cut off half-way is removed by copyDiskTo.
        await this.hv.copyDiskTo(d.path, req.target_uri, signal);
        copied.push(d.path);
        done += d.allocation_bytes;
        this.update(r, { bytes_processed: done, bytes_remaining: total - done, percent: Math.max(m.percent, total ? Math.min(90, (done / total) * 90) : 0) }, `copied ${d.path}`);
      }
      signal.throwIfAborted();
      // From here abort is refused: the definition is on its way to the target.
      r.pointOfNoReturn = true;
      await this.hv.migrateOffline(server.uuid, req.target_uri);
      this.update(r, { percent: Math.max(m.percent, 95) }, 'definition moved');
    } catch (err) {
      if (!r.pointOfNoReturn) await this.removeCopies(r, copied, log);
      if (shutdownAsked) await this.restoreRunningHere(server.uuid, log);
      throw abortCause(signal) ?? err;
    }
    if (m.was_running) {
      this.update(r, { phase: 'MIGRATION_PHASE_STARTING' }, 'starting on target', true);
      await this.hv.startOn(req.target_uri, server.uuid);
    }
    const there = await this.hv.serverOn(req.target_uri, server.uuid);
    if (!there) throw new MigrationVerificationError(`${server.uuid} is not defined on ${req.target_host_id} after the move`);
    if (m.was_running && there.state !== 'SERVER_STATE_RUNNING') throw new MigrationVerificationError(`${server.uuid} is ${there.state} on ${req.target_host_id}, expected running`);
    await this.cleanupSource(r, log);
  }

  /**
   * A cold move failed before its definition moved: the disk copies it made
   * on the target are nobody's, and would block the next attempt there
   * (copies never overwrite). Best effort: what cannot be removed is said in
   * the migration's events and the log.
   */
  private async removeCopies(r: Running, paths: string[], log: Logger): Promise<void> {
    const target = r.stored.request.target_uri;
    for (const path of paths) {
      try {
        await this.hv.removeDiskCopyOn(target, path);
        this.update(r, {}, `removed the copy of ${path} on ${r.stored.request.target_host_id}`);
      } catch (err) {
        // Refused when a domain on the target uses the file, or the target is unreachable.
        log.warn({ path, err: errorMessage(err) }, 'disk copy on the target not removed');
        this.update(r, {}, `copy of ${path} on ${r.stored.request.target_host_id} not removed: ${errorMessage(err)}`);
      }
    }
  }

  /**
   * A cold move failed while the definition was still here: give the server
   * back the power state it had (running), whatever point the shutdown
   * reached (asked, in progress, done).
   */
  private async restoreRunningHere(uuid: string, log: Logger): Promise<void> {
    const deadline = Date.now() + this.opts.settings.shutdownTimeoutMs + 5000;
    try {
      while (Date.now() < deadline) {
        const s = await this.hv.getServer(uuid);
        if (s.state === 'SERVER_STATE_RUNNING') return; // it never went down (ACPI ignored)
        if (s.state === 'SERVER_STATE_SHUTOFF' || s.state === 'SERVER_STATE_CRASHED') {
          await this.hv.start(uuid);
          log.info('cold move failed before the switch: restarted on the source');
          return;
        }
        await sleep(250); // shutting down: wait for it to finish, then start
      }
      log.error('cold move failed and the server did not settle on the source in time');
    } catch (err) {
      // NotFound: the definition did move after all; the caller's error says what failed.
      if (!(err instanceof NotFoundError)) log.error({ err: errorMessage(err) }, 'could not restart the server on the source after a failed cold move');
    }
  }

  /** Removes the source copies of local disks after the server left. Failures are reported, not fatal. */
  private async cleanupSource(r: Running, log: Logger): Promise<void> {
    const paths = r.stored.localDisks;
    if (!paths.length) return;
    this.update(r, { phase: 'MIGRATION_PHASE_CLEANING_UP' }, `removing ${paths.length} source disk copy(ies)`, true);
    for (const p of paths) {
      try {
        await this.hv.removeLocalDisk(p);
      } catch (err) {
        log.warn({ path: p, err: errorMessage(err) }, 'could not remove the source copy of a local disk');
        this.update(r, {}, `left behind ${p}: ${errorMessage(err)}`);
      }
    }
  }

  // ---------------------------------------------------------------- reconcile

  /**
   * A record left unfinished by an earlier process: ask the hypervisors
   * where the server is now, and close the record accordingly. Never
   * replays the migration. 'following': libvirt still runs its job (look
   * again soon); 'undecided': a hypervisor did not answer (look again later).
   */
  private async reconcile(rec: StoredMigration, signal?: AbortSignal): Promise<'decided' | 'following' | 'undecided'> {
    const m = rec.migration;
    const log = this.log.child({ migrationId: m.migration_id, serverUuid: m.server_uuid });
    const finish = async (phase: MigrationPhase, error: DrydockError | null, message: string) => {
      Object.assign(m, { phase, error: error ? errorInfo(error) : null, finished_at_ms: Date.now(), updated_at_ms: Date.now() });
      if (phase === 'MIGRATION_PHASE_COMPLETED') Object.assign(m, { percent: 100, bytes_remaining: 0 });
      await this.store.save(rec);
      log.info({ phase, message }, 'reconciled migration left unfinished by a previous agent');
    };
    // First the job, which libvirt reports while it runs (domjobinfo): the
    // other queries about this domain wait until the job ends, so asking
    // them first would follow a migration that never converges forever.
    const job = await this.hv.jobStats(m.server_uuid, signal).catch(() => null);
    if (job) {
      if (job.postCopy) {
        // Never abort in post-copy: libvirt finishes the job; a later pass finds the server on the target.
        if (!this.undecided.has(m.server_uuid.toLowerCase())) log.info('migration in post-copy at agent start: waiting for libvirt to finish it');
        return 'following';
      }
      const deadlineAtMs = this.deadlineOf(rec);
      if (Date.now() <= deadlineAtMs) {
        // libvirt (p2p) drives the job without us: follow it to its end
        // rather than throw away the work; a later pass decides by location.
        if (!this.undecided.has(m.server_uuid.toLowerCase())) log.info({ deadlineAtMs }, 'migration still running in libvirt after an agent restart: following it');
        return 'following';
      }
      log.warn({ deadlineAtMs }, 'migration left by the previous agent is past its deadline: aborting it');
      await this.hv.abortJob(m.server_uuid, signal).catch(() => undefined);
    }
    let there: Server | null = null;
    let here: Server | null = null;
    let targetAnswered = true;
    try {
      there = await this.hv.serverOn(m.target_uri, m.server_uuid, signal);
    } catch (err) {
      targetAnswered = false;
      log.warn({ err: errorMessage(err) }, 'target not reachable while reconciling');
    }
    try {
      here = await this.hv.getServer(m.server_uuid, signal);
    } catch (err) {
      // Only "not here" is an answer; our own libvirtd being down is not.
      if (!(err instanceof NotFoundError)) {
        log.warn({ err: errorMessage(err) }, 'local hypervisor did not answer while reconciling; will retry');
        return 'undecided';
      }
      here = null;
    }
    if (there && !here) {
      if (m.mode === 'MIGRATION_MODE_COLD' && m.was_running && there.state !== 'SERVER_STATE_RUNNING') {
        try {
          await this.hv.startOn(m.target_uri, m.server_uuid, signal);
        } catch (err) {
          await finish('MIGRATION_PHASE_FAILED', new MigrationOutcomeUnknownError(`server moved but could not be started on the target: ${errorMessage(err)}`), 'moved, start failed');
          return 'decided';
        }
      }
      for (const p of rec.localDisks) await this.hv.removeLocalDisk(p, signal).catch(() => undefined);
      await finish('MIGRATION_PHASE_COMPLETED', null, 'server found on the target');
      return 'decided';
    }
    if (here && there) {
      // Defined on both hosts (libvirt defined the target and never undefined
      // the source). Starting the source copy while the target's runs, or may
      // be started, would run the server twice on the same data: touch neither.
      const conflict = new ServerDefinedTwiceError(
        `server ${m.server_uuid} is defined on both ${this.opts.hostId} (${here.state}) and ${m.target_host_id} (${there.state}) after an interrupted move: ` +
          `neither copy was started or moved; undefine the stale one`,
        { details: { server: m.server_uuid, target: m.target_host_id } },
      );
      log.error({ sourceState: here.state, targetState: there.state }, conflict.message);
      await finish('MIGRATION_PHASE_FAILED', conflict, 'defined on both hosts');
      return 'decided';
    }
    if (here) {
      if (m.mode === 'MIGRATION_MODE_COLD' && m.was_running && here.state === 'SERVER_STATE_SHUTOFF') {
        // Only once the target has said it does not hold the server: a silent
        // target may be running it. Asked again later.
        if (!targetAnswered) {
          log.warn('cold move interrupted and the target is silent: the server is not restarted here until the target answers');
          return 'undecided';
        }
        await this.hv.start(m.server_uuid, signal).catch((err) => log.error({ err: errorMessage(err) }, 'could not restart the server on the source'));
      }
      await finish('MIGRATION_PHASE_ABORTED', new MigrationCancelledError('agent restarted mid-migration; the server stays on the source'), 'server still on the source');
      return 'decided';
    }
    // Not here, and the target did not answer: it may well be there. Ask again later.
    if (!targetAnswered) return 'undecided';
    await finish('MIGRATION_PHASE_FAILED', new MigrationOutcomeUnknownError(`agent restarted mid-migration and the server is on neither ${this.opts.hostId} nor ${m.target_host_id} `), 'unknown');
    return 'decided';
  }

  // ---------------------------------------------------------------- helpers

  /**
   * A reconcile found this server defined here and on another host
   * (ServerDefinedTwiceError): moving this copy elsewhere would start a
   * second instance. Refused while that other definition remains (or its
   * host does not answer); once an operator undefined it, allowed again.
   */
  private async refuseIfDefinedTwice(uuid: string): Promise<void> {
    const key = uuid.toLowerCase();
    for (const rec of this.records.values()) {
      const m = rec.migration;
      if (m.server_uuid.toLowerCase() !== key || m.error?.kind !== ServerDefinedTwiceError.name) continue;
      const other = await this.hv.serverOn(m.target_uri, uuid).catch(() => undefined);
      if (other === null) continue;
      throw new ServerDefinedTwiceError(
        `server ${uuid} is defined on both ${this.opts.hostId} and ${m.target_host_id} (found by migration ${m.migration_id})` +
          `${other === undefined ? `, and ${m.target_host_id} does not answer` : ''}: undefine the stale copy before moving it`,
        { details: { server: uuid, target: m.target_host_id } },
      );
    }
  }

  /** When a live transfer must be over: stored when it started, else derived as runLive would (records of older agents). */
  private deadlineOf(rec: StoredMigration): number {
    if (rec.deadlineAtMs !== undefined) return rec.deadlineAtMs;
    const s = this.opts.settings;
    const m = rec.migration;
    return m.started_at_ms + migrationDeadlineMs({ bytesToCopy: Number(m.bytes_total), perGiBMs: s.deadlinePerGiBMs, minMs: s.minDeadlineMs, requestedMs: rec.request.deadline_ms });
  }

  /** Disks that live on this host only and must be copied (not shared by pool, not under a declared shared path). */
  private localDisks(server: Server) {
    return server.disks.filter((d) => d.path && !d.shared && d.type !== 'network' && !this.declaredShared(d.path));
  }

  private declaredShared(p: string): boolean {
    const norm = path.normalize(p);
    return this.opts.sharedPathPrefixes.some((prefix) => norm === prefix || norm.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
  }

  /** Applies a change to the record, notifies listeners, persists on phase changes (and when asked). */
  private update(r: Running, patch: Partial<Migration>, message: string, persist = false): void {
    const m = r.stored.migration;
    const phaseChanged = patch.phase !== undefined && patch.phase !== m.phase;
    const percentBefore = m.percent;
    Object.assign(m, patch, { updated_at_ms: Date.now() });
    // The percent shown to people never goes backwards within one migration.
    m.percent = Math.max(percentBefore, Math.min(100, m.percent));
    if (persist || phaseChanged) this.store.save(r.stored).catch((err) => this.log.error({ err: errorMessage(err) }, 'could not persist migration record'));
    const event: MigrationEvent = { migration: structuredClone(m), message };
    for (const l of [...r.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'migration listener threw');
      }
    }
  }
}

function abortCause(signal: AbortSignal): DrydockError | null {
  return signal.aborted && signal.reason instanceof DrydockError ? signal.reason : null;
}

export function errorInfo(err: DrydockError): ErrorInfo {
  return { kind: err.kind, message: err.message, code: err.code };
}

function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

/**
 * Graceful shutdown with a deadline, then (if `force`) a hard power off.
 * Resolves 'already-off', 'shutdown' or 'destroyed'.
 */
export async function stopServer(
  hv: Hypervisor,
  uuid: string,
  opts: { timeoutMs: number; force: boolean; signal?: AbortSignal; pollMs?: number },
): Promise<'already-off' | 'shutdown' | 'destroyed'> {
  const pollMs = opts.pollMs ?? 250;
  const off = (s: Server) => s.state === 'SERVER_STATE_SHUTOFF' || s.state === 'SERVER_STATE_CRASHED';
  if (off(await hv.getServer(uuid, opts.signal))) return 'already-off';
  await hv.shutdown(uuid, opts.signal);
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())), undefined, opts.signal ? { signal: opts.signal } : undefined);
    if (off(await hv.getServer(uuid, opts.signal))) return 'shutdown';
  }
  if (!opts.force) {
    throw new DeadlineExceededError(`server ${uuid} did not shut down within ${opts.timeoutMs} ms`);
  }
  await hv.destroy(uuid, opts.signal);
  return 'destroyed';
}
