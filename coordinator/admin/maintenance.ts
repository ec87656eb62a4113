// Maintenance methods. Declared and permission-guarded now; the maintenance
// engine replaces this group with real handlers (same method names).
import type { HandlerGroup } from './context.ts';
import { UnimplementedError } from './errors.ts';

const later = (method: string) => async () => {
  throw new UnimplementedError(method, 'maintenance operations land with the maintenance engine');
};

export function maintenanceStubs(): HandlerGroup {
  return {
    unary: {
      PlanMaintenance: later('PlanMaintenance'),
      EnableMaintenance: later('EnableMaintenance'),
      DisableMaintenance: later('DisableMaintenance'),
      ReturnServers: later('ReturnServers'),
    },
  };
}
