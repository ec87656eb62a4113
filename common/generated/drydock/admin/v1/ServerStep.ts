// Original file: proto/drydock/admin/v1/admin.proto

import type { ServerAction__Input as _drydock_admin_v1_ServerAction__Input, ServerAction as _drydock_admin_v1_ServerAction } from '../../../drydock/admin/v1/ServerAction';
import type { StepPhase__Input as _drydock_admin_v1_StepPhase__Input, StepPhase as _drydock_admin_v1_StepPhase } from '../../../drydock/admin/v1/StepPhase';
import type { StepGuestHealth__Input as _drydock_admin_v1_StepGuestHealth__Input, StepGuestHealth as _drydock_admin_v1_StepGuestHealth } from '../../../drydock/admin/v1/StepGuestHealth';
import type { Long } from '@grpc/proto-loader';

export interface ServerStep__Input {
  'server_uuid'?: (string);
  'server_name'?: (string);
  'action'?: (_drydock_admin_v1_ServerAction__Input);
  'phase'?: (_drydock_admin_v1_StepPhase__Input);
  'source_host_id'?: (string);
  'target_host_id'?: (string);
  'migration_id'?: (string);
  'attempt'?: (number);
  'tried_targets'?: (string)[];
  'percent'?: (number | string);
  'bytes_processed'?: (number | string | Long);
  'bytes_total'?: (number | string | Long);
  'bandwidth_bps'?: (number | string | Long);
  'eta_seconds'?: (number);
  'was_running'?: (boolean);
  'error'?: (string);
  'started_at_ms'?: (number | string | Long);
  'finished_at_ms'?: (number | string | Long);
  'reason'?: (string);
  'guest_health'?: (_drydock_admin_v1_StepGuestHealth__Input);
  'guest_health_detail'?: (string);
}

export interface ServerStep {
  'server_uuid': (string);
  'server_name': (string);
  'action': (_drydock_admin_v1_ServerAction);
  'phase': (_drydock_admin_v1_StepPhase);
  'source_host_id': (string);
  'target_host_id': (string);
  'migration_id': (string);
  'attempt': (number);
  'tried_targets': (string)[];
  'percent': (number);
  'bytes_processed': (number);
  'bytes_total': (number);
  'bandwidth_bps': (number);
  'eta_seconds': (number);
  'was_running': (boolean);
  'error': (string);
  'started_at_ms': (number);
  'finished_at_ms': (number);
  'reason': (string);
  'guest_health': (_drydock_admin_v1_StepGuestHealth);
  'guest_health_detail': (string);
}
