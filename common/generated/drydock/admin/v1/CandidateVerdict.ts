// Original file: proto/drydock/admin/v1/admin.proto

import type { CheckResult__Input as _drydock_admin_v1_CheckResult__Input, CheckResult as _drydock_admin_v1_CheckResult } from '../../../drydock/admin/v1/CheckResult';
import type { Long } from '@grpc/proto-loader';

export interface CandidateVerdict__Input {
  'host_id'?: (string);
  'eligible'?: (boolean);
  'checks'?: (_drydock_admin_v1_CheckResult__Input)[];
  'memory_free_after_bytes'?: (number | string | Long);
}

export interface CandidateVerdict {
  'host_id': (string);
  'eligible': (boolean);
  'checks': (_drydock_admin_v1_CheckResult)[];
  'memory_free_after_bytes': (number);
}
