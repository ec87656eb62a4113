// Original file: proto/drydock/admin/v1/admin.proto

import type { OperationState__Input as _drydock_admin_v1_OperationState__Input, OperationState as _drydock_admin_v1_OperationState } from '../../../drydock/admin/v1/OperationState';
import type { ServerStep__Input as _drydock_admin_v1_ServerStep__Input, ServerStep as _drydock_admin_v1_ServerStep } from '../../../drydock/admin/v1/ServerStep';
import type { Long } from '@grpc/proto-loader';

export interface OperationEvent__Input {
  'operation_id'?: (string);
  'seq'?: (number | string | Long);
  'at_ms'?: (number | string | Long);
  'type'?: (string);
  'state'?: (_drydock_admin_v1_OperationState__Input);
  'step'?: (_drydock_admin_v1_ServerStep__Input | null);
  'message'?: (string);
  'done'?: (number);
  'total'?: (number);
  'stage'?: (string);
}

export interface OperationEvent {
  'operation_id': (string);
  'seq': (number);
  'at_ms': (number);
  'type': (string);
  'state': (_drydock_admin_v1_OperationState);
  'step': (_drydock_admin_v1_ServerStep | null);
  'message': (string);
  'done': (number);
  'total': (number);
  'stage': (string);
}
