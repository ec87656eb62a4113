// Original file: proto/drydock/admin/v1/admin.proto

import type { PlacementPolicy__Input as _drydock_admin_v1_PlacementPolicy__Input, PlacementPolicy as _drydock_admin_v1_PlacementPolicy } from '../../../drydock/admin/v1/PlacementPolicy';
import type { Long } from '@grpc/proto-loader';

export interface ZonePolicy__Input {
  'placement'?: (_drydock_admin_v1_PlacementPolicy__Input);
  'max_migrations_per_source'?: (number);
  'max_migrations_per_zone'?: (number);
  'max_incoming_per_target'?: (number);
  'stall_timeout_s'?: (number);
  'timeout_per_gib_s'?: (number);
  'min_timeout_s'?: (number);
  'allow_post_copy'?: (boolean);
  'allow_auto_converge'?: (boolean);
  'cpu_overcommit_ratio'?: (number | string);
  'host_memory_reserve_bytes'?: (number | string | Long);
  'max_attempts_per_server'?: (number);
  'settle_pause_s'?: (number);
}

export interface ZonePolicy {
  'placement': (_drydock_admin_v1_PlacementPolicy);
  'max_migrations_per_source': (number);
  'max_migrations_per_zone': (number);
  'max_incoming_per_target': (number);
  'stall_timeout_s': (number);
  'timeout_per_gib_s': (number);
  'min_timeout_s': (number);
  'allow_post_copy': (boolean);
  'allow_auto_converge': (boolean);
  'cpu_overcommit_ratio': (number);
  'host_memory_reserve_bytes': (number);
  'max_attempts_per_server': (number);
  'settle_pause_s': (number);
}
