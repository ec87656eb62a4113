// Original file: proto/drydock/agent/v1/agent.proto


export interface GetMigrationRequest__Input {
  'migration_id'?: (string);
}

export interface GetMigrationRequest {
  'migration_id': (string);
}
