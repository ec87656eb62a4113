// Original file: proto/drydock/admin/v1/admin.proto

export const ServerAction = {
  SERVER_ACTION_UNSPECIFIED: 'SERVER_ACTION_UNSPECIFIED',
  SERVER_ACTION_LIVE_MIGRATE: 'SERVER_ACTION_LIVE_MIGRATE',
  SERVER_ACTION_COLD_MIGRATE: 'SERVER_ACTION_COLD_MIGRATE',
  SERVER_ACTION_STOP: 'SERVER_ACTION_STOP',
  SERVER_ACTION_NONE: 'SERVER_ACTION_NONE',
} as const;

export type ServerAction__Input =
  | 'SERVER_ACTION_UNSPECIFIED'
  | 0
  | 'SERVER_ACTION_LIVE_MIGRATE'
  | 1
  | 'SERVER_ACTION_COLD_MIGRATE'
  | 2
  | 'SERVER_ACTION_STOP'
  | 3
  | 'SERVER_ACTION_NONE'
  | 4

export type ServerAction = typeof ServerAction[keyof typeof ServerAction]
