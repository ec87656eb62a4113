// The CpuPlacement the maintenance engine calls: prepare() asks, on each
// candidate target's agent, every CPU question the moves from one source
// raise (placement-rules.ts) and caches the answers; compatible() then
// answers the planner synchronously from the cache. A question that could
// not be asked leaves the target blocked with the reason, never waved through.
import type { HostRecord, InventorySnapshot } from '../model.ts';
import type { CpuCompatibleFn } from '../planner/index.ts';
import type { CpuPlacement } from '../operations/context.ts';
import { mapSettled } from '../concurrency.ts';
import type { CompareCache } from './compare-cache.ts';
import { cpuQuestions, cpuVerdict } from './placement-rules.ts';

export class ZoneCpuPlacement implements CpuPlacement {
  /** Hosts as the latest snapshot had them: a server's source is looked up here. */
  private readonly hosts = new Map<string, HostRecord>();

  constructor(
    private readonly o: {
      cache: CompareCache;
      hostReturned: (hostId: string, operationId: string) => Promise<void>;
      concurrency?: number;
    },
  ) {}

  async prepare(snapshot: InventorySnapshot, sourceHostId: string, signal?: AbortSignal): Promise<void> {
    for (const h of snapshot.hosts) this.hosts.set(h.id, h);
    const source = snapshot.hosts.find((h) => h.id === sourceHostId);
    const zone = snapshot.zones.find((z) => z.id === source?.zoneId);
    if (!source || !zone) return;
    const xmls = new Set<string>();
    for (const s of snapshot.servers) if (s.hostId === sourceHostId) for (const q of cpuQuestions(s, zone, source)) xmls.add(q.xml);
    if (xmls.size === 0) return;
    // Only hosts other checks could accept are asked: the rest are skipped before CPU matters.
    const targets = snapshot.hosts.filter(
      (h) => h.zoneId === zone.id && h.id !== sourceHostId && h.online && h.enabled && h.maintenance === 'none' && h.grpcEndpoint,
    );
    const asks = targets.flatMap((h) => [...xmls].filter((x) => !this.o.cache.get(h, x)).map((x) => ({ h, x })));
    // Failures are remembered by the cache and become the verdict's reason.
    await mapSettled(asks, this.o.concurrency ?? 8, ({ h, x }) => this.o.cache.ensure(h, x, signal));
    signal?.throwIfAborted();
  }

  compatible(): CpuCompatibleFn {
    return (server, target, zone) =>
      cpuVerdict(server, target, zone, this.hosts.get(server.hostId), (host, xml) => {
        const answer = this.o.cache.get(host, xml);
        return answer ? { answer } : { failure: this.o.cache.failure(host, xml) ?? '' };
      });
  }

  onHostReturned(hostId: string, operationId: string): Promise<void> {
    return this.o.hostReturned(hostId, operationId);
  }
}
