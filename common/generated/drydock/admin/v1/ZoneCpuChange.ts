// Original file: proto/drydock/admin/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface ZoneCpuChange__Input {
  'at_ms'?: (number | string | Long);
  'from_model'?: (string);
  'to_model'?: (string);
  'features_lost'?: (string)[];
  'features_gained'?: (string)[];
  'cause_host_id'?: (string);
  'reason'?: (string);
  'message'?: (string);
  'servers_needing_power_cycle'?: (string)[];
}

export interface ZoneCpuChange {
  'at_ms': (number);
  'from_model': (string);
  'to_model': (string);
  'features_lost': (string)[];
  'features_gained': (string)[];
  'cause_host_id': (string);
  'reason': (string);
  'message': (string);
  'servers_needing_power_cycle': (string)[];
}
