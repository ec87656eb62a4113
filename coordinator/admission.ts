// Host admission: the inventory takes facts, heartbeats and events only from
// hosts an operator admitted (docs/design.md, invariant 8). A host is
// admitted when its NATS identity is issued (`drydock-coordinator
// issue-host-credentials`), which records it in the admitted-hosts bucket;
// revoking removes the record. The bucket is shared by every coordinator, so
// all of them agree; each keeps the set in memory (a message must not cost a
// KV read, and invented ids must not cost anything) and refreshes it on
// every change of the bucket (a core subscription to the bucket's subjects,
// no consumer to stall) and every REFRESH_MS in case a change was missed.
import type { NatsConnection, Subscription } from 'nats';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertId } from '../common/names.ts';
import { buckets } from '../common/subjects.ts';
import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logging.ts';
import type { AdmittedHostRecord } from './model.ts';
import type { Repository } from './store/repository.ts';
import { openStore } from './store/store.ts';

export type { AdmittedHostRecord };

/** What the inventory asks (a Set lookup), and when the set changes. */
export interface HostAdmission {
  isAdmitted(hostId: string): boolean;
  /** Called after every change with the hosts admitted now and the ids removed. Returns an unsubscribe. */
  onChange(fn: (hosts: AdmittedHostRecord[], removed: string[]) => void): () => void;
}

const REFRESH_MS = 30_000;

/**
 * Admits `hostId` with the public key of its NATS identity (a new key
 * replaces the old one: rotation). Returns what happened.
 */
export async function admitHost(repo: Repository<AdmittedHostRecord>, hostId: string, nkey: string, by: string): Promise<'admitted' | 'rotated' | 'unchanged'> {
  assertId('host_id', hostId);
  let before: AdmittedHostRecord | null = null;
  const res = await repo.upsert(hostId, (cur) => {
    before = cur;
    if (cur && cur.nkey === nkey) return undefined;
    return { hostId, nkey, admittedAtMs: Date.now(), by };
  });
  if (!res.changed) return 'unchanged';
  return before ? 'rotated' : 'admitted';
}

/**
 * Admits hosts over `nc` (a connection as the coordinator) before any
 * coordinator runs: `npm start` and the tests, whose hosts exist up front.
 * Opens the same buckets a coordinator opens (idempotent).
 */
export async function admitHostsOver(nc: NatsConnection, replicas: number, hosts: { hostId: string; nkey: string }[], by: string): Promise<void> {
  const store = await openStore(nc, { replicas });
  for (const h of hosts) await admitHost(store.admittedHosts, h.hostId, h.nkey, by);
}

/** Removes the host's admission; false if it was not admitted. */
export async function revokeHost(repo: Repository<AdmittedHostRecord>, hostId: string): Promise<boolean> {
  assertId('host_id', hostId);
  return repo.deleteIf(hostId, () => true);
}

export class Admission implements HostAdmission {
  private hosts = new Map<string, AdmittedHostRecord>();
  private readonly listeners = new Set<(hosts: AdmittedHostRecord[], removed: string[]) => void>();
  private readonly stopper = new AbortController();
  private sub: Subscription | null = null;
  private loop: Promise<void> | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** The bucket's revision at the last load: a refresh at the same revision has nothing to read. */
  private loadedRevision = -1;
  private readonly log: Logger;

  constructor(
    private readonly repo: Repository<AdmittedHostRecord>,
    private readonly nc: NatsConnection,
    logger: Logger,
    private readonly refreshMs = REFRESH_MS,
  ) {
    this.log = logger.child({ component: 'admission' });
  }

  /** Loads the admitted hosts (awaited: the inventory starts with the set in place), then follows changes. */
  async start(): Promise<void> {
    this.sub = this.nc.subscribe(`$KV.${buckets.admittedHosts}.>`, { callback: () => void this.refresh() });
    await this.refresh();
    this.loop = (async () => {
      const signal = this.stopper.signal;
      while (!signal.aborted) {
        await sleep(this.refreshMs, undefined, { signal }).catch(() => undefined);
        if (!signal.aborted) await this.refresh();
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.sub?.unsubscribe();
    await this.loop;
    await this.running;
  }

  isAdmitted(hostId: string): boolean {
    return this.hosts.has(hostId);
  }

  list(): AdmittedHostRecord[] {
    return [...this.hosts.values()];
  }

  onChange(fn: (hosts: AdmittedHostRecord[], removed: string[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Re-reads the bucket; runs coalesced (a burst of changes costs one or two reads). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.load();
        } catch (err) {
          if (!this.stopper.signal.aborted) this.log.warn({ err: errorMessage(err) }, 'admitted hosts not refreshed; the previous set stays');
        }
      } while (this.again && !this.stopper.signal.aborted);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Every admitted host's record, unless the bucket has not moved since the
   * last load (every write, revoke included, moves its revision): the
   * periodic refresh must not read 5,000 records every 30 s to find nothing.
   */
  private async load(): Promise<void> {
    const revision = await this.repo.lastRevision(this.stopper.signal);
    if (revision === this.loadedRevision) return;
    const next = new Map((await this.repo.list(this.stopper.signal)).map((v) => [v.key, v.value]));
    this.loadedRevision = revision;
    const removed = [...this.hosts.keys()].filter((id) => !next.has(id));
    const changed = removed.length > 0 || [...next].some(([id, r]) => this.hosts.get(id)?.nkey !== r.nkey);
    this.hosts = next;
    if (!changed) return;
    this.log.info({ admitted: next.size, removed }, 'admitted hosts changed');
    for (const fn of this.listeners) {
      try {
        fn(this.list(), removed);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'admission listener failed');
      }
    }
  }
}
