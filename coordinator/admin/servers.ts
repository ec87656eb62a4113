// Admin methods over virtual servers: list (by host or zone) and the
// operator's per-server switches hot_migration and smart. Lists come from
// the instance's read model (coordinator/reads/), synced with KV at the
// start of the call: a host's servers from the index by host.
import { FailedPreconditionError, NotFoundError } from '../../common/errors.ts';
import { assertId, assertUuid, isUuid } from '../../common/names.ts';
import type { ListServersRequest } from '../../common/generated/drydock/admin/v1/ListServersRequest.ts';
import type { UpdateServerRequest } from '../../common/generated/drydock/admin/v1/UpdateServerRequest.ts';
import { assertZoneId } from '../ids.ts';
import type { ServerRecord } from '../model.ts';
import { serverToProto } from './convert.ts';
import type { AdminDeps, HandlerGroup } from './context.ts';
import { editing, requireNonEmpty } from './validate.ts';
import { finishPage, readPage } from './paging.ts';

export function serverHandlers(d: AdminDeps): HandlerGroup {
  return {
    unary: {
      ListServers: async (req: ListServersRequest, ctx) => {
        const hostId = req.host_id ?? '';
        const zoneId = req.zone_id ?? '';
        if (hostId) assertId('host_id', hostId);
        if (zoneId) assertZoneId('zone_id', zoneId);
        const filters = `host=${hostId};zone=${zoneId}`;
        // Keys are stored lower case (assertUuid), so a token's key must be too.
        const page = readPage('ListServers', filters, req, (k) => isUuid(k) && k === k.toLowerCase());
        const reads = d.reads;
        await reads.sync(ctx.signal, ...(hostId || zoneId ? (['hosts', 'servers'] as const) : (['servers'] as const)), ...(zoneId ? (['zones'] as const) : []));
        if (hostId && !reads.hosts.get(hostId)) throw new NotFoundError('host', hostId);
        if (zoneId && !reads.zones.get(zoneId)) throw new NotFoundError('zone', zoneId);
        let fetched;
        if (hostId) {
          // Servers of that host if it is in that zone.
          const inZone = !zoneId || reads.hosts.get(hostId)?.value.zoneId === zoneId;
          fetched = inZone ? reads.serversOfHost(hostId, page.after, page.size + 1) : [];
        } else if (zoneId) {
          fetched = reads.servers.page(page.after, page.size + 1, (s) => reads.hosts.get(s.value.hostId)?.value.zoneId === zoneId);
        } else {
          fetched = reads.servers.page(page.after, page.size + 1);
        }
        const { page: servers, nextPageToken } = finishPage('ListServers', filters, fetched, page.size);
        return { servers: servers.map((s) => serverToProto(s.value)), next_page_token: nextPageToken };
      },

      UpdateServer: async (req: UpdateServerRequest, ctx) => {
        const uuid = assertUuid('uuid', requireNonEmpty('uuid', req.uuid));
        const res = await d.store.servers.mutate(
          uuid,
          editing<ServerRecord>((s) => {
            const changes = (req.hot_migration !== undefined && req.hot_migration !== s.hotMigration) || (req.smart !== undefined && req.smart !== s.smart);
            // The engine chose live or cold from these flags when it planned:
            // they must not change under a running move.
            if (changes && s.operationId)
              throw new FailedPreconditionError(`server ${uuid} is being moved by operation ${s.operationId}; change its flags when it finishes`);
            if (req.hot_migration !== undefined) s.hotMigration = req.hot_migration;
            if (req.smart !== undefined) s.smart = req.smart;
            if (changes) s.flagsSetByOperator = true;
          }, Date.now()),
          ctx.signal,
        );
        return serverToProto(res.value);
      },
    },
  };
}
