// Admin methods over hosts (compute resources): list, get, and the
// operator's settings — zone, the Enabled switch, storage cluster, label.
// A disabled host keeps its running servers; that it is never a target is
// the planner's rule, read from `enabled`.
import { FailedPreconditionError, NotFoundError } from '../../common/errors.ts';
import { assertId } from '../../common/names.ts';
import type { GetHostRequest } from '../../common/generated/drydock/admin/v1/GetHostRequest.ts';
import type { ListHostsRequest } from '../../common/generated/drydock/admin/v1/ListHostsRequest.ts';
import type { UpdateHostRequest } from '../../common/generated/drydock/admin/v1/UpdateHostRequest.ts';
import { assertStorageCluster, assertZoneId } from '../ids.ts';
import type { HostRecord, ZoneRecord } from '../model.ts';
import { hostToProto } from './convert.ts';
import type { AdminDeps, HandlerGroup } from './context.ts';
import { assertText, requireNonEmpty } from './validate.ts';

export function hostHandlers(d: AdminDeps): HandlerGroup {
  /** Host records → proto, with liveness, zone and server counts. */
  const render = async (hosts: HostRecord[], signal: AbortSignal) => {
    const [zones, servers] = await Promise.all([d.store.zones.list(signal), d.store.servers.list(signal)]);
    const zoneById = new Map<string, ZoneRecord>(zones.map((z) => [z.key, z.value]));
    const count = new Map<string, number>();
    for (const s of servers) count.set(s.value.hostId, (count.get(s.value.hostId) ?? 0) + 1);
    const now = Date.now();
    return hosts.map((h) => {
      const l = d.inventory.hostLiveness(h.id, now);
      return hostToProto({
        host: l && l.memoryFreeBytes > 0 ? { ...h, memoryFreeBytes: l.memoryFreeBytes } : h,
        zone: zoneById.get(h.zoneId) ?? null,
        online: l?.online ?? false,
        lastHeartbeatMs: l?.lastHeartbeatMs ?? 0,
        serverCount: count.get(h.id) ?? 0,
      });
    });
  };

  return {
    unary: {
      ListHosts: async (req: ListHostsRequest, ctx) => {
        if (req.zone_id) {
          assertZoneId('zone_id', req.zone_id);
          await d.store.zones.require(req.zone_id, ctx.signal);
        }
        const hosts = (await d.store.hosts.list(ctx.signal)).map((h) => h.value).filter((h) => !req.zone_id || h.zoneId === req.zone_id);
        return { hosts: await render(hosts, ctx.signal) };
      },

      GetHost: async (req: GetHostRequest, ctx) => {
        const id = assertId('host_id', requireNonEmpty('host_id', req.host_id));
        const host = await d.store.hosts.require(id, ctx.signal);
        return (await render([host.value], ctx.signal))[0];
      },

      UpdateHost: async (req: UpdateHostRequest, ctx) => {
        const id = assertId('host_id', requireNonEmpty('host_id', req.host_id));
        if (req.zone_id !== undefined && req.zone_id !== '') {
          assertZoneId('zone_id', req.zone_id);
          // The zone named must exist; NOT_FOUND names it.
          if (!(await d.store.zones.get(req.zone_id, ctx.signal))) throw new NotFoundError('zone', req.zone_id);
        }
        if (req.storage_cluster !== undefined) assertStorageCluster('storage_cluster', req.storage_cluster);
        if (req.label !== undefined) assertText('label', req.label, 255);
        const res = await d.store.hosts.mutate(
          id,
          (h) => {
            // Zone and storage cluster decide where servers may go: changing
            // them under a running maintenance would invalidate its plan.
            const movesZone = req.zone_id !== undefined && req.zone_id !== h.zoneId;
            const movesCluster = req.storage_cluster !== undefined && req.storage_cluster !== h.storageCluster;
            if ((movesZone || movesCluster) && h.maintenance !== 'none') {
              throw new FailedPreconditionError(
                `host ${id} is in maintenance state "${h.maintenance}"${h.maintenanceOpId ? ` (operation ${h.maintenanceOpId})` : ''}: change its ${movesZone ? 'zone' : 'storage cluster'} after it returns to service`,
              );
            }
            const next = { ...h };
            if (req.zone_id !== undefined) next.zoneId = req.zone_id;
            if (req.enabled !== undefined) next.enabled = req.enabled;
            if (req.storage_cluster !== undefined) next.storageCluster = req.storage_cluster;
            if (req.label !== undefined) next.label = req.label;
            return next;
          },
          ctx.signal,
        );
        if (res.changed) ctx.logger.info({ hostId: id, zoneId: res.value.zoneId, enabled: res.value.enabled }, 'host settings changed');
        return (await render([res.value], ctx.signal))[0];
      },
    },
  };
}
