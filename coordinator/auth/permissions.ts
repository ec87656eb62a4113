// Permission names and which admin method needs which. One table, so a
// method added to the service without a permission fails at start-up
// (admin/service.ts checks every method of the proto against it).

/**
 * "maintenance.manage" is OnApp's "Set maintenance mode for any compute
 * resource"; that exact phrase is accepted wherever a permission is named.
 */
export const MAINTENANCE_PERMISSION_TITLE = 'Set maintenance mode for any compute resource';

export const PERMISSIONS = [
  'zones.read',
  'zones.write',
  'hosts.read',
  'hosts.write',
  'servers.read',
  'servers.write',
  'operations.read',
  'maintenance.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Maps the OnApp title to its key; other names pass through unchanged. */
export function normalizePermission(name: string): string {
  return name.trim() === MAINTENANCE_PERMISSION_TITLE ? 'maintenance.manage' : name.trim();
}

/** Admin method → the permission it needs. */
export const METHOD_PERMISSIONS: Record<string, Permission> = {
  ListZones: 'zones.read',
  GetZone: 'zones.read',
  CreateZone: 'zones.write',
  UpdateZone: 'zones.write',
  ListHosts: 'hosts.read',
  GetHost: 'hosts.read',
  UpdateHost: 'hosts.write',
  ListServers: 'servers.read',
  UpdateServer: 'servers.write',
  PlanMaintenance: 'maintenance.manage',
  EnableMaintenance: 'maintenance.manage',
  DisableMaintenance: 'maintenance.manage',
  ReturnServers: 'maintenance.manage',
  CancelOperation: 'maintenance.manage',
  GetOperation: 'operations.read',
  ListOperations: 'operations.read',
  WatchOperation: 'operations.read',
  GetZoneCpu: 'zones.read',
  RecomputeZoneCpu: 'zones.write',
};

/** Methods that change state: audited on every outcome (reads only when rejected). */
export const MUTATING_METHODS = new Set([
  'CreateZone',
  'UpdateZone',
  'UpdateHost',
  'UpdateServer',
  'EnableMaintenance',
  'DisableMaintenance',
  'ReturnServers',
  'CancelOperation',
  'RecomputeZoneCpu',
]);

export const DEFAULT_ROLES: Record<string, string[]> = {
  admin: ['*'],
  operator: [...PERMISSIONS],
  viewer: ['zones.read', 'hosts.read', 'servers.read', 'operations.read'],
};
