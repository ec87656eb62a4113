// Zone CPU methods. Declared and permission-guarded now; the zone CPU
// baseline work replaces this group.
import type { HandlerGroup } from './context.ts';
import { UnimplementedError } from './errors.ts';

const later = (method: string) => async () => {
  throw new UnimplementedError(method, 'zone CPU baselines land with the zone CPU work');
};

export function zoneCpuStubs(): HandlerGroup {
  return {
    unary: {
      GetZoneCpu: later('GetZoneCpu'),
      RecomputeZoneCpu: later('RecomputeZoneCpu'),
    },
  };
}
