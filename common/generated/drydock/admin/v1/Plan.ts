// Original file: proto/drydock/admin/v1/admin.proto

import type { PlannedServer__Input as _drydock_admin_v1_PlannedServer__Input, PlannedServer as _drydock_admin_v1_PlannedServer } from '../../../drydock/admin/v1/PlannedServer';
import type { Long } from '@grpc/proto-loader';

export interface Plan__Input {
  'host_id'?: (string);
  'zone_id'?: (string);
  'servers'?: (_drydock_admin_v1_PlannedServer__Input)[];
  'blockers'?: (_drydock_admin_v1_PlannedServer__Input)[];
  'refusals'?: (string)[];
  'warnings'?: (string)[];
  'estimated_seconds'?: (number);
  'assumed_bandwidth_bps'?: (number | string | Long);
  'planned_at_ms'?: (number | string | Long);
}

export interface Plan {
  'host_id': (string);
  'zone_id': (string);
  'servers': (_drydock_admin_v1_PlannedServer)[];
  'blockers': (_drydock_admin_v1_PlannedServer)[];
  'refusals': (string)[];
  'warnings': (string)[];
  'estimated_seconds': (number);
  'assumed_bandwidth_bps': (number);
  'planned_at_ms': (number);
}
