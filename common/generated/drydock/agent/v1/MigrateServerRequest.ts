// Original file: proto/drydock/agent/v1/agent.proto

import type { MigrationMode__Input as _drydock_agent_v1_MigrationMode__Input, MigrationMode as _drydock_agent_v1_MigrationMode } from '../../../drydock/agent/v1/MigrationMode';

export interface MigrateServerRequest__Input {
  'migration_id'?: (string);
  'server_uuid'?: (string);
  'mode'?: (_drydock_agent_v1_MigrationMode__Input);
  'target_host_id'?: (string);
  'target_uri'?: (string);
  'stall_timeout_ms'?: (number);
  'deadline_ms'?: (number);
  'allow_post_copy'?: (boolean);
  'allow_auto_converge'?: (boolean);
  'max_bandwidth_mibps'?: (number);
  'shutdown_timeout_ms'?: (number);
}

export interface MigrateServerRequest {
  'migration_id': (string);
  'server_uuid': (string);
  'mode': (_drydock_agent_v1_MigrationMode);
  'target_host_id': (string);
  'target_uri': (string);
  'stall_timeout_ms': (number);
  'deadline_ms': (number);
  'allow_post_copy': (boolean);
  'allow_auto_converge': (boolean);
  'max_bandwidth_mibps': (number);
  'shutdown_timeout_ms': (number);
}
