// Online/offline from heartbeats, in memory on every coordinator instance
// (heartbeats every 2 s would be a write storm in KV). Time is an argument,
// so the rules are tested with plain numbers.
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
}

export type BeatResult = 'new-host' | 'restarted' | 'back-online' | 'alive';

export class Liveness {
  private readonly hosts = new Map<string, HostLiveness>();

  constructor(private readonly offlineAfterMs: number) {}

  /**
   * Records a heartbeat received at `nowMs` (the coordinator's clock: agent
   * clocks may be off). Says what it means: a host never seen, a new
   * incarnation (agent restarted or host rebooted), a host back from offline.
   */
  beat(msg: HeartbeatMessage, nowMs: number): BeatResult {
    const prev = this.hosts.get(msg.host_id);
    this.hosts.set(msg.host_id, {
      lastHeartbeatMs: nowMs,
      incarnation: msg.incarnation,
      bootId: msg.boot_id,
      memoryFreeBytes: Number(msg.memory_free_bytes) || 0,
      serverCount: Number(msg.server_count) || 0,
      runningCount: Number(msg.running_count) || 0,
      grpcEndpoint: msg.grpc_endpoint,
    });
    if (!prev) return 'new-host';
    if (prev.incarnation !== msg.incarnation) return 'restarted';
    if (!this.online(prev, nowMs)) return 'back-online';
    return 'alive';
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

  get(hostId: string): HostLiveness | undefined {
    return this.hosts.get(hostId);
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
