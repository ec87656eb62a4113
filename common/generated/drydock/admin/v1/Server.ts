// Original file: proto/drydock/admin/v1/admin.proto

import type { ServerDisk__Input as _drydock_admin_v1_ServerDisk__Input, ServerDisk as _drydock_admin_v1_ServerDisk } from '../../../drydock/admin/v1/ServerDisk';
import type { Long } from '@grpc/proto-loader';

export interface Server__Input {
  'uuid'?: (string);
  'name'?: (string);
  'host_id'?: (string);
  'state'?: (string);
  'vcpus'?: (number);
  'memory_bytes'?: (number | string | Long);
  'local_disk_bytes'?: (number | string | Long);
  'shared_pools'?: (string)[];
  'hot_migration'?: (boolean);
  'smart'?: (boolean);
  'cpu_mode'?: (string);
  'cpu_model'?: (string);
  'updated_at_ms'?: (number | string | Long);
  'operation_id'?: (string);
  'disks'?: (_drydock_admin_v1_ServerDisk__Input)[];
}

export interface Server {
  'uuid': (string);
  'name': (string);
  'host_id': (string);
  'state': (string);
  'vcpus': (number);
  'memory_bytes': (number);
  'local_disk_bytes': (number);
  'shared_pools': (string)[];
  'hot_migration': (boolean);
  'smart': (boolean);
  'cpu_mode': (string);
  'cpu_model': (string);
  'updated_at_ms': (number);
  'operation_id': (string);
  'disks': (_drydock_admin_v1_ServerDisk)[];
}
