// Original file: proto/drydock/agent/v1/agent.proto

export const MigrationMode = {
  MIGRATION_MODE_UNSPECIFIED: 'MIGRATION_MODE_UNSPECIFIED',
  MIGRATION_MODE_LIVE: 'MIGRATION_MODE_LIVE',
  MIGRATION_MODE_COLD: 'MIGRATION_MODE_COLD',
} as const;

export type MigrationMode__Input =
  | 'MIGRATION_MODE_UNSPECIFIED'
  | 0
  | 'MIGRATION_MODE_LIVE'
  | 1
  | 'MIGRATION_MODE_COLD'
  | 2

export type MigrationMode = typeof MigrationMode[keyof typeof MigrationMode]
