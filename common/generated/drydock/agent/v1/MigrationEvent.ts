// Original file: proto/drydock/agent/v1/agent.proto

import type { Migration__Input as _drydock_agent_v1_Migration__Input, Migration as _drydock_agent_v1_Migration } from '../../../drydock/agent/v1/Migration';

export interface MigrationEvent__Input {
  'migration'?: (_drydock_agent_v1_Migration__Input | null);
  'message'?: (string);
}

export interface MigrationEvent {
  'migration': (_drydock_agent_v1_Migration | null);
  'message': (string);
}
