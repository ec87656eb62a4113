// Admin methods over virtual servers: list (by host or zone) and the
// operator's per-server switches hot_migration and smart.
import { FailedPreconditionError } from '../../common/errors.ts';
import { assertId, assertUuid } from '../../common/names.ts';
import type { ListServersRequest } from '../../common/generated/drydock/admin/v1/ListServersRequest.ts';
import type { UpdateServerRequest } from '../../common/generated/drydock/admin/v1/UpdateServerRequest.ts';
import { assertZoneId } from '../ids.ts';
import type { ServerRecord } from '../model.ts';
import { serverToProto } from './convert.ts';
import type { AdminDeps, HandlerGroup } from './context.ts';
import { editing, requireNonEmpty } from './validate.ts';

export function serverHandlers(d: AdminDeps): HandlerGroup {
  return {
    unary: {
      ListServers: async (req: ListServersRequest, ctx) => {
        let hostIds: Set<string> | null = null;
        if (req.host_id) {
          assertId('host_id', req.host_id);
          await d.store.hosts.require(req.host_id, ctx.signal);
          hostIds = new Set([req.host_id]);
        }
        if (req.zone_id) {
          assertZoneId('zone_id', req.zone_id);
          await d.store.zones.require(req.zone_id, ctx.signal);
          const inZone = (await d.store.hosts.list(ctx.signal)).filter((h) => h.value.zoneId === req.zone_id).map((h) => h.key);
          hostIds = new Set(hostIds ? inZone.filter((h) => hostIds!.has(h)) : inZone);
        }
        const servers = (await d.store.servers.list(ctx.signal)).map((s) => s.value).filter((s) => !hostIds || hostIds.has(s.hostId));
        return { servers: servers.map(serverToProto) };
      },

      UpdateServer: async (req: UpdateServerRequest, ctx) => {
        const uuid = assertUuid('uuid', requireNonEmpty('uuid', req.uuid));
        const res = await d.store.servers.mutate(
          uuid,
          editing<ServerRecord>((s) => {
            const changes = (req.hot_migration !== undefined && req.hot_migration !== s.hotMigration) || (req.smart !== undefined && req.smart !== s.smart);
            // The engine chose live or cold from these flags when it planned:
            // they must not change under a running move.
            if (changes && s.operationId) throw new FailedPreconditionError(`server ${uuid} is being moved by operation ${s.operationId}; change its flags when it finishes`);
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
