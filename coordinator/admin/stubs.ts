// Methods whose implementation comes from a module (coordinator/operations,
// coordinator/zone-cpu). A coordinator started without that module still
// declares them, permission-guarded, and answers UNIMPLEMENTED with what is
// missing; a module's handler group replaces these.
import type { HandlerGroup, UnaryHandler } from './context.ts';
import { UnimplementedError } from './errors.ts';

function later(method: string, detail: string): UnaryHandler {
  return async () => {
    throw new UnimplementedError(method, detail);
  };
}

function group(unary: string[], stream: string[], detail: string): HandlerGroup {
  return {
    unary: Object.fromEntries(unary.map((m) => [m, later(m, detail)])),
    stream: Object.fromEntries(stream.map((m) => [m, later(m, detail)])),
  };
}

export function moduleStubs(): HandlerGroup[] {
  return [
    group(['PlanMaintenance', 'EnableMaintenance', 'DisableMaintenance', 'ReturnServers'], [], 'maintenance operations land with the maintenance engine'),
    group(['GetOperation', 'ListOperations', 'CancelOperation'], ['WatchOperation'], 'operations land with the maintenance engine'),
    group(['GetZoneCpu', 'RecomputeZoneCpu'], [], 'zone CPU baselines land with the zone CPU work'),
  ];
}
