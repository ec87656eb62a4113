// Original file: proto/drydock/admin/v1/admin.proto

import type { CpuMode__Input as _drydock_admin_v1_CpuMode__Input, CpuMode as _drydock_admin_v1_CpuMode } from '../../../drydock/admin/v1/CpuMode';
import type { ZoneCpuChange__Input as _drydock_admin_v1_ZoneCpuChange__Input, ZoneCpuChange as _drydock_admin_v1_ZoneCpuChange } from '../../../drydock/admin/v1/ZoneCpuChange';
import type { Long } from '@grpc/proto-loader';

export interface ZoneCpu__Input {
  'zone_id'?: (string);
  'mode'?: (_drydock_admin_v1_CpuMode__Input);
  'model'?: (string);
  'vendor'?: (string);
  'features'?: (string)[];
  'extra_features'?: (string)[];
  'xml'?: (string);
  'history'?: (_drydock_admin_v1_ZoneCpuChange__Input)[];
  'advice'?: (string)[];
  'mismatched_hosts'?: (string)[];
  'servers_needing_power_cycle'?: (string)[];
  'updated_at_ms'?: (number | string | Long);
}

export interface ZoneCpu {
  'zone_id': (string);
  'mode': (_drydock_admin_v1_CpuMode);
  'model': (string);
  'vendor': (string);
  'features': (string)[];
  'extra_features': (string)[];
  'xml': (string);
  'history': (_drydock_admin_v1_ZoneCpuChange)[];
  'advice': (string)[];
  'mismatched_hosts': (string)[];
  'servers_needing_power_cycle': (string)[];
  'updated_at_ms': (number);
}
