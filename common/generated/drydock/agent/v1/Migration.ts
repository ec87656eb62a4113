// Original file: proto/drydock/agent/v1/agent.proto

import type { MigrationMode__Input as _drydock_agent_v1_MigrationMode__Input, MigrationMode as _drydock_agent_v1_MigrationMode } from '../../../drydock/agent/v1/MigrationMode';
import type { MigrationPhase__Input as _drydock_agent_v1_MigrationPhase__Input, MigrationPhase as _drydock_agent_v1_MigrationPhase } from '../../../drydock/agent/v1/MigrationPhase';
import type { ErrorInfo__Input as _drydock_agent_v1_ErrorInfo__Input, ErrorInfo as _drydock_agent_v1_ErrorInfo } from '../../../drydock/agent/v1/ErrorInfo';
import type { GuestHealth__Input as _drydock_agent_v1_GuestHealth__Input, GuestHealth as _drydock_agent_v1_GuestHealth } from '../../../drydock/agent/v1/GuestHealth';
import type { Long } from '@grpc/proto-loader';

export interface Migration__Input {
  'migration_id'?: (string);
  'server_uuid'?: (string);
  'server_name'?: (string);
  'mode'?: (_drydock_agent_v1_MigrationMode__Input);
  'source_host_id'?: (string);
  'target_host_id'?: (string);
  'target_uri'?: (string);
  'phase'?: (_drydock_agent_v1_MigrationPhase__Input);
  'bytes_processed'?: (number | string | Long);
  'bytes_remaining'?: (number | string | Long);
  'bytes_total'?: (number | string | Long);
  'bandwidth_bps'?: (number | string | Long);
  'percent'?: (number | string);
  'was_running'?: (boolean);
  'started_at_ms'?: (number | string | Long);
  'updated_at_ms'?: (number | string | Long);
  'finished_at_ms'?: (number | string | Long);
  'error'?: (_drydock_agent_v1_ErrorInfo__Input | null);
  'downtime_ms'?: (number | string | Long);
  'iteration'?: (number);
  'copied_storage'?: (boolean);
  'stale_definition_removed'?: (string);
  'guest_health'?: (_drydock_agent_v1_GuestHealth__Input);
  'guest_health_detail'?: (string);
}

export interface Migration {
  'migration_id': (string);
  'server_uuid': (string);
  'server_name': (string);
  'mode': (_drydock_agent_v1_MigrationMode);
  'source_host_id': (string);
  'target_host_id': (string);
  'target_uri': (string);
  'phase': (_drydock_agent_v1_MigrationPhase);
  'bytes_processed': (number);
  'bytes_remaining': (number);
  'bytes_total': (number);
  'bandwidth_bps': (number);
  'percent': (number);
  'was_running': (boolean);
  'started_at_ms': (number);
  'updated_at_ms': (number);
  'finished_at_ms': (number);
  'error': (_drydock_agent_v1_ErrorInfo | null);
  'downtime_ms': (number);
  'iteration': (number);
  'copied_storage': (boolean);
  'stale_definition_removed': (string);
  'guest_health': (_drydock_agent_v1_GuestHealth);
  'guest_health_detail': (string);
}
