// Original file: proto/drydock/agent/v1/agent.proto


export interface AbortMigrationRequest__Input {
  'migration_id'?: (string);
  'reason'?: (string);
}

export interface AbortMigrationRequest {
  'migration_id': (string);
  'reason': (string);
}
