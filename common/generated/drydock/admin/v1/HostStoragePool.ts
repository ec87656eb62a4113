// Original file: proto/drydock/admin/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface HostStoragePool__Input {
  'name'?: (string);
  'type'?: (string);
  'path'?: (string);
  'shared'?: (boolean);
  'active'?: (boolean);
  'capacity_bytes'?: (number | string | Long);
  'available_bytes'?: (number | string | Long);
}

export interface HostStoragePool {
  'name': (string);
  'type': (string);
  'path': (string);
  'shared': (boolean);
  'active': (boolean);
  'capacity_bytes': (number);
  'available_bytes': (number);
}
