// The admin read path's view of zones, hosts and servers: one BucketMirror
// per bucket (reads/mirror.ts) and the index of servers by host, so
// GetHost, a host's ListServers and the server count of every host cost a
// map lookup instead of a read of every server record. Each coordinator
// keeps its own; sync() makes a read reflect every write acknowledged
// before it began, whichever instance made it.
import type { Logger } from '../../common/logging.ts';
import type { HostRecord, ServerRecord, ZoneRecord } from '../model.ts';
import type { Store } from '../store/store.ts';
import type { Versioned } from '../store/repository.ts';
import { BucketMirror, type MirrorOptions } from './mirror.ts';

export type ReadModelOptions = Pick<MirrorOptions<unknown>, 'healthMs' | 'resyncMs' | 'catchUpMs'>;

export class ReadModel {
  readonly zones: BucketMirror<ZoneRecord>;
  readonly hosts: BucketMirror<HostRecord>;
  readonly servers: BucketMirror<ServerRecord>;
  /** host id → uuids of the servers whose record names that host. */
  private readonly byHost = new Map<string, Set<string>>();

  constructor(store: Store, logger: Logger, opts: ReadModelOptions = {}) {
    this.zones = new BucketMirror(store.zones, { logger, ...opts });
    this.hosts = new BucketMirror(store.hosts, { logger, ...opts });
    this.servers = new BucketMirror(store.servers, {
      logger,
      ...opts,
      onChange: (uuid, before, after) => {
        if (before && before.hostId !== after?.hostId) this.unindex(before.hostId, uuid);
        if (after) {
          let set = this.byHost.get(after.hostId);
          if (!set) this.byHost.set(after.hostId, (set = new Set()));
          set.add(uuid);
        }
      },
    });
  }

  private unindex(hostId: string, uuid: string): void {
    const set = this.byHost.get(hostId);
    set?.delete(uuid);
    if (set?.size === 0) this.byHost.delete(hostId);
  }

  /** Loads the three buckets (awaited before the admin API serves), then follows them. */
  async start(): Promise<void> {
    await Promise.all([this.zones.start(), this.hosts.start(), this.servers.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.zones.stop(), this.hosts.stop(), this.servers.stop()]);
  }

  /** Waits until the named buckets reflect every write acknowledged before the call. */
  async sync(signal: AbortSignal | undefined, ...which: ('zones' | 'hosts' | 'servers')[]): Promise<void> {
    await Promise.all(which.map((w) => this[w].sync(signal)));
  }

  serverCount(hostId: string): number {
    return this.byHost.get(hostId)?.size ?? 0;
  }

  /** Up to `limit` servers of one host with uuids after `after`, in uuid order. */
  serversOfHost(hostId: string, after: string, limit: number): Versioned<ServerRecord>[] {
    const uuids = [...(this.byHost.get(hostId) ?? [])].filter((u) => u > after).sort();
    const out: Versioned<ServerRecord>[] = [];
    for (const u of uuids) {
      if (out.length >= limit) break;
      const v = this.servers.get(u);
      if (v) out.push(v);
    }
    return out;
  }
}
