// Original file: proto/drydock/agent/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface StoragePool__Input {
  'name'?: (string);
  'type'?: (string);
  'path'?: (string);
  'shared'?: (boolean);
  'active'?: (boolean);
  'capacity_bytes'?: (number | string | Long);
  'available_bytes'?: (number | string | Long);
}

export interface StoragePool {
  'name': (string);
  'type': (string);
  'path': (string);
  'shared': (boolean);
  'active': (boolean);
  'capacity_bytes': (number);
  'available_bytes': (number);
}
