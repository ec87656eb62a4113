// The admin API's maintenance and operation methods over MaintenanceService.
// Registered after the coordinator's default groups, replacing their stubs.
import { assertId, assertUuid } from '../../common/names.ts';
import { InvalidArgumentError, UnavailableError } from '../../common/errors.ts';
import type { HandlerGroup } from '../admin/context.ts';
import type { PlanMaintenanceRequest } from '../../common/generated/drydock/admin/v1/PlanMaintenanceRequest.ts';
import type { EnableMaintenanceRequest } from '../../common/generated/drydock/admin/v1/EnableMaintenanceRequest.ts';
import type { DisableMaintenanceRequest } from '../../common/generated/drydock/admin/v1/DisableMaintenanceRequest.ts';
import type { ReturnServersRequest } from '../../common/generated/drydock/admin/v1/ReturnServersRequest.ts';
import type { GetOperationRequest } from '../../common/generated/drydock/admin/v1/GetOperationRequest.ts';
import type { ListOperationsRequest } from '../../common/generated/drydock/admin/v1/ListOperationsRequest.ts';
import type { WatchOperationRequest } from '../../common/generated/drydock/admin/v1/WatchOperationRequest.ts';
import type { CancelOperationRequest } from '../../common/generated/drydock/admin/v1/CancelOperationRequest.ts';
import { finishPage, readPage } from '../admin/paging.ts';
import { isValidId } from '../ids.ts';
import type { MaintenanceService } from './service.ts';
import type { OperationRecord } from './types.ts';
import type { OperationHeader } from './op-layout.ts';
import { eventToProto, operationToProto, planToProto } from './convert.ts';
import type { WatchLimits } from './watch-limits.ts';

function hostIdOf(v: string): string {
  if (!v) throw new InvalidArgumentError('host_id', 'required');
  return assertId('host_id', v);
}

function opIdOf(v: string): string {
  if (!v) throw new InvalidArgumentError('operation_id', 'required');
  return assertId('operation_id', v);
}

/** An operation with the sequence of its newest event (WatchOperation resumes after it). */
async function withSeq(svc: MaintenanceService, op: OperationRecord | OperationHeader) {
  return operationToProto(op, await svc.lastEventSeq(op.id));
}

export function maintenanceHandlers(svc: MaintenanceService, watches: WatchLimits): HandlerGroup {
  return {
    unary: {
      PlanMaintenance: async (req: PlanMaintenanceRequest) => planToProto(await svc.plan(hostIdOf(req.host_id), false)),
      EnableMaintenance: async (req: EnableMaintenanceRequest, ctx) =>
        withSeq(svc, await svc.enable(hostIdOf(req.host_id), req.stop_unmigratable, req.confirm, ctx.principal.user)),
      DisableMaintenance: async (req: DisableMaintenanceRequest, ctx) =>
        withSeq(svc, await svc.disable(hostIdOf(req.host_id), req.skip_reboot, ctx.principal.user)),
      ReturnServers: async (req: ReturnServersRequest, ctx) => {
        const uuids = req.server_uuids.map((u, i) => assertUuid(`server_uuids[${i}]`, u));
        return withSeq(svc, await svc.returnServers(hostIdOf(req.host_id), uuids, ctx.principal.user));
      },
      GetOperation: async (req: GetOperationRequest) => {
        return withSeq(svc, await svc.get(opIdOf(req.operation_id)));
      },
      ListOperations: async (req: ListOperationsRequest) => {
        if (req.host_id) assertId('host_id', req.host_id);
        const filters = `host=${req.host_id}&active=${req.active_only}`;
        const page = readPage('ListOperations', filters, req, isValidId);
        const size = req.limit ? Math.min(page.size, req.limit) : page.size;
        // Headers only, no per-operation event lookup (last_event_seq stays 0).
        const fetched = await svc.page(page.after, req.limit ? size : size + 1, { hostId: req.host_id, activeOnly: req.active_only });
        const { page: ops, nextPageToken } = finishPage('ListOperations', filters, fetched, size);
        return { operations: ops.map((o) => operationToProto(o.value, 0, true)), next_page_token: nextPageToken };
      },
      CancelOperation: async (req: CancelOperationRequest) => withSeq(svc, await svc.cancel(opIdOf(req.operation_id), req.reason.slice(0, 500))),
    },
    stream: {
      WatchOperation: async (req: WatchOperationRequest, ctx, send) => {
        const id = opIdOf(req.operation_id);
        const slot = watches.acquire(ctx.principal.user, ctx.signal);
        try {
          for await (const ev of svc.watch(id, Number(req.from_seq) || 0, slot.signal)) send(eventToProto(ev));
        } finally {
          slot.release();
        }
        if (watches.closed.aborted) throw new UnavailableError('the coordinator is shutting down; watch again (from the last seq + 1) on another instance');
      },
    },
  };
}
