// Admin methods over hosts (compute resources): list, get, and the
// operator's settings — zone, the Enabled switch, storage cluster, label.
// A disabled host keeps its running servers; that it is never a target is
// the planner's rule, read from `enabled`. Reads come from the instance's
// read model (coordinator/reads/), synced with KV at the start of the call.
import { FailedPreconditionError, NotFoundError } from '../../common/errors.ts';
import { assertId } from '../../common/names.ts';
import { isValidId, assertStorageCluster, assertZoneId } from '../ids.ts';
import type { GetHostRequest } from '../../common/generated/drydock/admin/v1/GetHostRequest.ts';
import type { ListHostsRequest } from '../../common/generated/drydock/admin/v1/ListHostsRequest.ts';
import type { UpdateHostRequest } from '../../common/generated/drydock/admin/v1/UpdateHostRequest.ts';
import type { HostRecord } from '../model.ts';
import { hostToProto } from './convert.ts';
import type { AdminDeps, HandlerGroup } from './context.ts';
import { assertText, requireNonEmpty } from './validate.ts';
import { finishPage, readPage } from './paging.ts';

export function hostHandlers(d: AdminDeps): HandlerGroup {
  const reads = d.reads;
  /** Host records → proto, with liveness, zone and server counts (the read model synced first). */
  const render = (hosts: HostRecord[]) => {
    const now = Date.now();
    return hosts.map((h) => {
      const l = d.inventory.hostLiveness(h.id, now);
      return hostToProto({
        host: h,
        // Heartbeats are fresher than facts for free memory.
        memoryFreeBytes: l && l.memoryFreeBytes > 0 ? l.memoryFreeBytes : h.memoryFreeBytes,
        zone: reads.zones.get(h.zoneId)?.value ?? null,
        online: l?.online ?? false,
        lastHeartbeatMs: l?.lastHeartbeatMs ?? 0,
        serverCount: reads.serverCount(h.id),
      });
    });
  };

  return {
    unary: {
      ListHosts: async (req: ListHostsRequest, ctx) => {
        const zoneId = req.zone_id ?? '';
        if (zoneId) assertZoneId('zone_id', zoneId);
        const filters = `zone=${zoneId}`;
        const page = readPage('ListHosts', filters, req, isValidId);
        await reads.sync(ctx.signal, 'zones', 'hosts', 'servers');
        if (zoneId && !reads.zones.get(zoneId)) throw new NotFoundError('zone', zoneId);
        const fetched = reads.hosts.page(page.after, page.size + 1, (h) => !zoneId || h.value.zoneId === zoneId);
        const { page: hosts, nextPageToken } = finishPage('ListHosts', filters, fetched, page.size);
        return { hosts: render(hosts.map((h) => h.value)), next_page_token: nextPageToken };
      },

      GetHost: async (req: GetHostRequest, ctx) => {
        const id = assertId('host_id', requireNonEmpty('host_id', req.host_id));
        await reads.sync(ctx.signal, 'zones', 'hosts', 'servers');
        const host = reads.hosts.get(id);
        if (!host) throw new NotFoundError('host', id);
        return render([host.value])[0];
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
        // The written record itself; zone and count as of a sync after the write.
        await reads.sync(ctx.signal, 'zones', 'servers');
        return render([res.value])[0];
      },
    },
  };
}
