// Original file: proto/drydock/admin/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchOperationRequest__Input {
  'operation_id'?: (string);
  'from_seq'?: (number | string | Long);
}

export interface WatchOperationRequest {
  'operation_id': (string);
  'from_seq': (number);
}
