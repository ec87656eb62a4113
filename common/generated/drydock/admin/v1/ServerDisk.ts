// Original file: proto/drydock/admin/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface ServerDisk__Input {
  'target'?: (string);
  'path'?: (string);
  'pool'?: (string);
  'shared'?: (boolean);
  'capacity_bytes'?: (number | string | Long);
  'allocation_bytes'?: (number | string | Long);
  'format'?: (string);
  'type'?: (string);
  'readonly'?: (boolean);
}

export interface ServerDisk {
  'target': (string);
  'path': (string);
  'pool': (string);
  'shared': (boolean);
  'capacity_bytes': (number);
  'allocation_bytes': (number);
  'format': (string);
  'type': (string);
  'readonly': (boolean);
}
