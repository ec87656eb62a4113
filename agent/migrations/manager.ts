// The agent's migration manager: one persisted record per migration id,
// idempotent by that id (a running id attaches, a finished id returns its
// final record and never runs again), the checks before a start, the
// record's updates and listeners, abort, and the ending of every run. The
// flows themselves are ./live.ts and ./cold.ts; records an agent restart
// left unfinished are ./reconcile.ts's.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logging.ts';
import { DrydockError, FailedPreconditionError, InvalidArgumentError, NotFoundError, errorMessage } from '../../common/errors.ts';
import type { Hypervisor, MigrationSource, PreparedCall, Server } from '../hypervisor/hypervisor.ts';
import type { Migration } from '../../common/generated/drydock/agent/v1/Migration.ts';
import type { MigrationEvent } from '../../common/generated/drydock/agent/v1/MigrationEvent.ts';
import type { MigrationPhase } from '../../common/generated/drydock/agent/v1/MigrationPhase.ts';
import type { MigrateServerRequest } from '../../common/generated/drydock/agent/v1/MigrateServerRequest.ts';
import type { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';
import { monotonicPercent } from '../../common/progress-percent.ts';
import { MigrationStore, type StoredMigration } from './store.ts';
import {
  AbortRefusedError,
  MigrationCancelledError,
  MigrationIdConflictError,
  MigrationOutcomeUnknownError,
  ServerBusyError,
  ServerDefinedTwiceError,
  TooManyMigrationsError,
} from './errors.ts';
import { errorInfo, isTerminal, type CancelBy, type FlowContext, type MigrationListener, type MigrationSettings, type Running } from './flow.ts';
import { Reconciler } from './reconcile.ts';
import { runLive } from './live.ts';
import { runCold } from './cold.ts';
import { removeStaleCopy } from './stale.ts';

export type { MigrationListener, MigrationSettings } from './flow.ts';

export interface MigrationManagerOptions {
  hostId: string;
  hypervisor: Hypervisor;
  stateDir: string;
  settings: MigrationSettings;
  log: Logger;
  /** Told when a migration ends (Prometheus counters). */
  onEnded?: (mode: string, result: 'completed' | 'failed' | 'aborted', seconds: number, bytes: number) => void;
}

/** A validated MigrateServer request (server.ts validates the wire input). */
export type MigrationRequest = MigrateServerRequest;

export class MigrationManager {
  private readonly store: MigrationStore;
  private readonly records = new Map<string, StoredMigration>();
  private readonly running = new Map<string, Running>();
  /** Ids whose start() is between validation and the record being written. */
  private readonly starting = new Map<string, Promise<Migration>>();
  private readonly hv: Hypervisor;
  private readonly log: Logger;
  private readonly reconciler: Reconciler;
  /** What the flows may use of the manager. */
  private readonly flow: FlowContext;
  private closed = false;

  constructor(private readonly opts: MigrationManagerOptions) {
    this.store = new MigrationStore(opts.stateDir);
    this.hv = opts.hypervisor;
    this.log = opts.log.child({ component: 'migrations' });
    this.reconciler = new Reconciler({ hv: this.hv, hostId: opts.hostId, store: this.store, settings: opts.settings, log: this.log });
    this.flow = {
      hv: this.hv,
      hostId: opts.hostId,
      settings: opts.settings,
      update: (r, patch, message, persist) => this.update(r, patch, message, persist),
      cancel: (r, by, error) => this.cancel(r, by, error),
    };
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
    await this.reconciler.start(
      [...this.records.values()].filter((rec) => !isTerminal(rec.migration)),
      signal,
    );
  }

  /** Stops accepting work; running migrations get `graceMs` to finish, then are cancelled (guest stays on the source). */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    await this.reconciler.close();
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
    // Opened first, a live move's virsh starts and connects while the checks
    // and the record's write below run, instead of after them (virsh-prepared.ts).
    const lease = { prepared: req.mode === 'MIGRATION_MODE_LIVE' ? this.hv.prepareLiveMigration?.() : undefined, taken: false };
    try {
      return await this.createWith(req, lease);
    } finally {
      // Released unless the run took it (a refused or raced start leaves it unused).
      if (!lease.taken) lease.prepared?.cancel();
    }
  }

  private async createWith(req: MigrationRequest, lease: { prepared: PreparedCall | undefined; taken: boolean }): Promise<Migration> {
    const source = await this.startable(req);
    // A concurrent start of the same id may have won while we checked.
    const raced = this.records.get(req.migration_id);
    if (raced) return this.existing(raced, req).migration;
    const { server } = source;
    const stored = newRecord(
      req,
      server,
      this.opts.hostId,
      source.disks.local.map((d) => d.path),
    );
    stored.migration.stale_definition_removed = source.staleRemoved;
    // Registered before the first await, so a concurrent request for the same
    // server or id (or over the limit) sees it: checks and registration are one step.
    let settle!: (m: Migration) => void;
    const r: Running = {
      stored,
      listeners: new Set(),
      job: new AbortController(),
      cancel: null,
      pointOfNoReturn: false,
      prepared: lease.prepared,
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
    lease.taken = true;
    const log = this.log.child({ migrationId: req.migration_id, serverUuid: server.uuid, target: req.target_host_id, mode: req.mode });
    log.info({ wasRunning: stored.migration.was_running, localDisks: stored.localDisks }, 'migration started');
    void this.run(r, source, log)
      .finally(() => {
        this.running.delete(req.migration_id);
        r.listeners.clear();
        r.prepared?.cancel();
      })
      .then(settle, () => settle(structuredClone(r.stored.migration)));
    return structuredClone(stored.migration);
  }

  /**
   * Every check before a start; the server as read for it, with the plan of
   * its disks the flows follow. Throws the typed reason it cannot start.
   */
  private async startable(req: MigrationRequest): Promise<MigrationSource & { staleRemoved: string }> {
    if (this.closed) throw new FailedPreconditionError('agent is shutting down');
    if (req.target_host_id === this.opts.hostId) throw new InvalidArgumentError('target_host_id', `${req.target_host_id} is this host`);
    if (req.target_uri === this.hv.migrationUri) throw new InvalidArgumentError('target_uri', `${req.target_uri} is this host's own URI`);
    // Before any query: libvirt would not answer about that domain until its job ends.
    const earlier = this.reconciler.undecidedFor(req.server_uuid);
    if (earlier)
      throw new ServerBusyError(
        `server ${req.server_uuid}: migration ${earlier.migration.migration_id}, left by the previous agent process, is still being followed`,
      );
    // Both checks at once (each is a virsh round trip); the server's absence is reported before
    // the target's, as the more fundamental problem.
    const [here, there] = await Promise.allSettled([this.hv.migrationSource(req.server_uuid), this.hv.stateOn(req.target_uri, req.server_uuid)]);
    if (here.status === 'rejected') throw here.reason;
    const { server } = here.value;
    // Reaches the target (UNAVAILABLE if not) and makes sure no copy exists there.
    if (there.status === 'rejected') throw there.reason;
    // Before any clean-up: a copy on the target may be this server's own migration in flight.
    for (const r of this.running.values()) {
      if (r.stored.migration.server_uuid.toLowerCase() === server.uuid.toLowerCase()) {
        throw new ServerBusyError(`server ${server.uuid} is already migrating (migration ${r.stored.migration.migration_id})`);
      }
    }
    if (this.running.size >= this.opts.settings.maxConcurrent) {
      throw new TooManyMigrationsError(`${this.running.size} migrations already running (limit ${this.opts.settings.maxConcurrent})`);
    }
    // After the other checks, so a clean-up of the target is done only for a move that then starts and
    // records it (a stale copy there means the server runs here: the mode check below passes).
    const staleRemoved = there.value ? await this.cleanTwoCopies(req, server, there.value) : '';
    await this.refuseIfDefinedTwice(server.uuid);
    if (req.mode === 'MIGRATION_MODE_LIVE' && server.state !== 'SERVER_STATE_RUNNING' && server.state !== 'SERVER_STATE_PAUSED') {
      throw new FailedPreconditionError(`server ${server.uuid} is ${server.state}: only a running server moves live (use cold)`);
    }
    return { ...here.value, staleRemoved };
  }

  /**
   * The server is also defined on the target. A stale copy there (shut off
   * while the server runs here) is undefined and the move goes on: what was
   * removed goes into the record. A stale copy here (shut off while the
   * target runs the server) is undefined and the request refused: nothing is
   * left to move. Otherwise refused, touching neither (stale.ts).
   */
  private async cleanTwoCopies(req: MigrationRequest, server: Server, there: ServerState): Promise<string> {
    const copies = {
      uuid: server.uuid,
      here: server.state,
      there,
      hostId: this.opts.hostId,
      targetHostId: req.target_host_id,
      targetUri: req.target_uri,
      expectRunning: wasRunning(server),
    };
    const { removed, note } = await removeStaleCopy(this.hv, copies);
    this.log.warn({ serverUuid: server.uuid, target: req.target_host_id, removed }, note);
    if (removed === 'source') throw new FailedPreconditionError(`server ${server.uuid} runs on ${req.target_host_id}: ${note}; nothing left to move`);
    return note;
  }

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
      const other = await this.hv.stateOn(m.target_uri, uuid).catch(() => undefined);
      if (other === null) continue;
      throw new ServerDefinedTwiceError(
        `server ${uuid} is defined on both ${this.opts.hostId} and ${m.target_host_id} (found by migration ${m.migration_id})` +
          `${other === undefined ? `, and ${m.target_host_id} does not answer` : ''}: undefine the stale copy before moving it`,
        { details: { server: uuid, target: m.target_host_id } },
      );
    }
  }

  // ---------------------------------------------------------------- run

  private async run(r: Running, source: MigrationSource, log: Logger): Promise<Migration> {
    try {
      if (r.stored.request.mode === 'MIGRATION_MODE_COLD') await runCold(this.flow, r, source, log);
      else await runLive(this.flow, r, source, log);
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
      this.update(
        r,
        { phase, error: errorInfo(final), finished_at_ms: Date.now() },
        `${phase === 'MIGRATION_PHASE_ABORTED' ? 'aborted' : 'failed'}: ${final.message}${where}`,
        true,
      );
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

  private cancel(r: Running, by: CancelBy, error: DrydockError): void {
    if (r.cancel) return;
    r.cancel = { by, error };
    r.job.abort(error);
  }

  /** Applies a change to the record, notifies listeners, persists on phase changes (and when asked). */
  private update(r: Running, patch: Partial<Migration>, message: string, persist = false): void {
    const m = r.stored.migration;
    const phaseChanged = patch.phase !== undefined && patch.phase !== m.phase;
    const percentBefore = m.percent;
    Object.assign(m, patch, { updated_at_ms: Date.now() });
    // Every flow's percent passes here: it never goes backwards within one migration.
    m.percent = monotonicPercent(percentBefore, m.percent);
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

/** The record of a migration about to start (PENDING, nothing moved yet). */
function newRecord(req: MigrationRequest, server: Server, hostId: string, localDisks: string[]): StoredMigration {
  const now = Date.now();
  return {
    version: 1,
    request: structuredClone(req),
    localDisks,
    migration: {
      migration_id: req.migration_id,
      server_uuid: server.uuid,
      server_name: server.name,
      mode: req.mode,
      source_host_id: hostId,
      target_host_id: req.target_host_id,
      target_uri: req.target_uri,
      phase: 'MIGRATION_PHASE_PENDING',
      bytes_processed: 0,
      bytes_remaining: 0,
      bytes_total: 0,
      bandwidth_bps: 0,
      percent: 0,
      was_running: wasRunning(server),
      started_at_ms: now,
      updated_at_ms: now,
      finished_at_ms: 0,
      error: null,
      downtime_ms: 0,
      iteration: 0,
      copied_storage: false,
      stale_definition_removed: '',
      guest_health: 'GUEST_HEALTH_UNSPECIFIED',
      guest_health_detail: '',
    },
  };
}

/** The power state a move keeps: running for every state but shut off and crashed. */
function wasRunning(server: Server): boolean {
  return server.state !== 'SERVER_STATE_SHUTOFF' && server.state !== 'SERVER_STATE_CRASHED';
}
