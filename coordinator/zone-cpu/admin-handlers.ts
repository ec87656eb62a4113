// GetZoneCpu and RecomputeZoneCpu, registered after the coordinator's
// default groups so they replace the stubs (as the maintenance handlers do).
import type { GetZoneCpuRequest } from '../../common/generated/drydock/admin/v1/GetZoneCpuRequest.ts';
import type { RecomputeZoneCpuRequest } from '../../common/generated/drydock/admin/v1/RecomputeZoneCpuRequest.ts';
import type { ZoneCpu__Input } from '../../common/generated/drydock/admin/v1/ZoneCpu.ts';
import { InvalidArgumentError } from '../../common/errors.ts';
import type { HandlerGroup } from '../admin/context.ts';
import { zoneCpuToProto } from '../admin/convert.ts';
import { assertZoneId } from '../ids.ts';
import type { Store } from '../store/store.ts';
import type { ZoneCpuService } from './recompute.ts';

function zoneIdOf(v: string): string {
  if (!v) throw new InvalidArgumentError('zone_id', 'required');
  return assertZoneId('zone_id', v);
}

export function zoneCpuHandlers(store: Store, service: ZoneCpuService): HandlerGroup {
  return {
    unary: {
      GetZoneCpu: async (req: GetZoneCpuRequest, ctx): Promise<ZoneCpu__Input> =>
        zoneCpuToProto((await store.zones.require(zoneIdOf(req.zone_id), ctx.signal)).value),

      RecomputeZoneCpu: async (req: RecomputeZoneCpuRequest, ctx): Promise<ZoneCpu__Input> => {
        const id = zoneIdOf(req.zone_id);
        const out = await service.recompute(
          id,
          { reason: req.allow_upgrade ? 'operator-upgrade' : 'operator-recompute', allowUpgrade: req.allow_upgrade },
          ctx.signal,
        );
        const view = zoneCpuToProto(out.zone);
        return {
          ...view,
          // The offer is an answer to this call, not a state of the zone: not stored.
          advice: [...(view.advice ?? []), ...(out.upgradeOffer ? [out.upgradeOffer] : [])],
          servers_needing_power_cycle: out.serversNeedingPowerCycle,
        };
      },
    },
  };
}
