// Original file: proto/drydock/admin/v1/admin.proto

import type { ServerAction__Input as _drydock_admin_v1_ServerAction__Input, ServerAction as _drydock_admin_v1_ServerAction } from '../../../drydock/admin/v1/ServerAction';
import type { CandidateVerdict__Input as _drydock_admin_v1_CandidateVerdict__Input, CandidateVerdict as _drydock_admin_v1_CandidateVerdict } from '../../../drydock/admin/v1/CandidateVerdict';
import type { Long } from '@grpc/proto-loader';

export interface PlannedServer__Input {
  'server_uuid'?: (string);
  'server_name'?: (string);
  'action'?: (_drydock_admin_v1_ServerAction__Input);
  'target_host_id'?: (string);
  'reason'?: (string);
  'memory_bytes'?: (number | string | Long);
  'local_disk_bytes'?: (number | string | Long);
  'was_running'?: (boolean);
  'candidates'?: (_drydock_admin_v1_CandidateVerdict__Input)[];
  'estimated_seconds'?: (number);
}

export interface PlannedServer {
  'server_uuid': (string);
  'server_name': (string);
  'action': (_drydock_admin_v1_ServerAction);
  'target_host_id': (string);
  'reason': (string);
  'memory_bytes': (number);
  'local_disk_bytes': (number);
  'was_running': (boolean);
  'candidates': (_drydock_admin_v1_CandidateVerdict)[];
  'estimated_seconds': (number);
}
