// Online/offline from heartbeats, in memory on every coordinator instance
// (heartbeats every 2 s would be a write storm in KV). Time is an argument,
// so the rules are tested with plain numbers. One entry per host, updated in
// place (5,000 hosts beating every 2 s must not make 2,500 objects a second
// for the collector), and bounded: a host silent for forgetAfterMs is
// dropped (as if never heard: it is offline either way).
import type { HeartbeatMessage } from '../../common/subjects.ts';

export interface HostLiveness {
  /** Local receive time of the last heartbeat (ms since epoch). */
  lastHeartbeatMs: number;
  incarnation: string;
  bootId: string;
  memoryFreeBytes: number;
  serverCount: number;
  runningCount: number;
  grpcEndpoint: string;
  /** The heartbeat's digest of the host's servers (common/servers-digest.ts); "" from agents that send none. */
  serversDigest: string;
}

/** Hosts silent this long are dropped from the table by default (a day). */
export const FORGET_AFTER_MS = 24 * 3600_000;

export type BeatResult = 'new-host' | 'restarted' | 'back-online' | 'alive';

export class Liveness {
  private readonly hosts = new Map<string, HostLiveness>();
  private lastPruneMs = 0;

  constructor(
    private readonly offlineAfterMs: number,
    /** A host silent this long is dropped (pruned at most every forgetAfterMs / 10, from beat()). */
    private readonly forgetAfterMs = FORGET_AFTER_MS,
  ) {}

  /**
   * Records a heartbeat received at `nowMs` (the coordinator's clock: agent
   * clocks may be off). Says what it means: a host never seen, a new
   * incarnation (agent restarted or host rebooted), a host back from offline.
   */
  beat(msg: HeartbeatMessage, nowMs: number): BeatResult {
    if (nowMs - this.lastPruneMs >= this.forgetAfterMs / 10) this.prune(nowMs);
    const h = this.hosts.get(msg.host_id);
    const what: BeatResult = !h ? 'new-host' : h.incarnation !== msg.incarnation ? 'restarted' : !this.online(h, nowMs) ? 'back-online' : 'alive';
    const e = h ?? ({} as HostLiveness);
    e.lastHeartbeatMs = nowMs;
    e.incarnation = msg.incarnation;
    e.bootId = msg.boot_id;
    e.memoryFreeBytes = Number(msg.memory_free_bytes) || 0;
    e.serverCount = Number(msg.server_count) || 0;
    e.runningCount = Number(msg.running_count) || 0;
    e.grpcEndpoint = msg.grpc_endpoint;
    e.serversDigest = typeof msg.servers_digest === 'string' ? msg.servers_digest.slice(0, 64) : '';
    if (!h) this.hosts.set(msg.host_id, e);
    return what;
  }

  /** Drops the hosts silent for forgetAfterMs at `nowMs`; returns how many. */
  prune(nowMs: number): number {
    this.lastPruneMs = nowMs;
    let n = 0;
    for (const [id, h] of this.hosts) {
      if (nowMs - h.lastHeartbeatMs < this.forgetAfterMs) continue;
      this.hosts.delete(id);
      n++;
    }
    return n;
  }

  get size(): number {
    return this.hosts.size;
  }

  private online(h: HostLiveness | undefined, nowMs: number): boolean {
    return !!h && nowMs - h.lastHeartbeatMs < this.offlineAfterMs;
  }

  isOnline(hostId: string, nowMs: number): boolean {
    return this.online(this.hosts.get(hostId), nowMs);
  }

  /** Drops a host (its admission was revoked): it is offline and no longer reconciled. */
  forget(hostId: string): void {
    this.hosts.delete(hostId);
  }

  /** A copy of the host's entry (the table's own is updated in place). */
  get(hostId: string): HostLiveness | undefined {
    const h = this.hosts.get(hostId);
    return h && { ...h };
  }

  /** Hosts heard from at least once since this instance started. */
  known(): string[] {
    return [...this.hosts.keys()];
  }

  /** Every host heard from, with its online verdict at `nowMs`. */
  view(nowMs: number): Map<string, HostLiveness & { online: boolean }> {
    const out = new Map<string, HostLiveness & { online: boolean }>();
    for (const [id, h] of this.hosts) out.set(id, { ...h, online: this.online(h, nowMs) });
    return out;
  }
}
