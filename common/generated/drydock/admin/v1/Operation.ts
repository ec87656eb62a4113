// Original file: proto/drydock/admin/v1/admin.proto

import type { OperationKind__Input as _drydock_admin_v1_OperationKind__Input, OperationKind as _drydock_admin_v1_OperationKind } from '../../../drydock/admin/v1/OperationKind';
import type { OperationState__Input as _drydock_admin_v1_OperationState__Input, OperationState as _drydock_admin_v1_OperationState } from '../../../drydock/admin/v1/OperationState';
import type { ServerStep__Input as _drydock_admin_v1_ServerStep__Input, ServerStep as _drydock_admin_v1_ServerStep } from '../../../drydock/admin/v1/ServerStep';
import type { MovedServer__Input as _drydock_admin_v1_MovedServer__Input, MovedServer as _drydock_admin_v1_MovedServer } from '../../../drydock/admin/v1/MovedServer';
import type { Long } from '@grpc/proto-loader';

export interface Operation__Input {
  'id'?: (string);
  'kind'?: (_drydock_admin_v1_OperationKind__Input);
  'host_id'?: (string);
  'state'?: (_drydock_admin_v1_OperationState__Input);
  'reason'?: (string);
  'steps'?: (_drydock_admin_v1_ServerStep__Input)[];
  'done'?: (number);
  'total'?: (number);
  'stop_unmigratable'?: (boolean);
  'requested_by'?: (string);
  'created_at_ms'?: (number | string | Long);
  'updated_at_ms'?: (number | string | Long);
  'finished_at_ms'?: (number | string | Long);
  'moved_away'?: (_drydock_admin_v1_MovedServer__Input)[];
  'stage'?: (string);
  'last_event_seq'?: (number | string | Long);
  'archived_at_ms'?: (number | string | Long);
}

export interface Operation {
  'id': (string);
  'kind': (_drydock_admin_v1_OperationKind);
  'host_id': (string);
  'state': (_drydock_admin_v1_OperationState);
  'reason': (string);
  'steps': (_drydock_admin_v1_ServerStep)[];
  'done': (number);
  'total': (number);
  'stop_unmigratable': (boolean);
  'requested_by': (string);
  'created_at_ms': (number);
  'updated_at_ms': (number);
  'finished_at_ms': (number);
  'moved_away': (_drydock_admin_v1_MovedServer)[];
  'stage': (string);
  'last_event_seq': (number);
  'archived_at_ms': (number);
}
