// Original file: proto/drydock/agent/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Disk__Input {
  'target'?: (string);
  'path'?: (string);
  'capacity_bytes'?: (number | string | Long);
  'allocation_bytes'?: (number | string | Long);
  'pool'?: (string);
  'shared'?: (boolean);
  'format'?: (string);
  'type'?: (string);
  'readonly'?: (boolean);
}

export interface Disk {
  'target': (string);
  'path': (string);
  'capacity_bytes': (number);
  'allocation_bytes': (number);
  'pool': (string);
  'shared': (boolean);
  'format': (string);
  'type': (string);
  'readonly': (boolean);
}
