// Original file: proto/drydock/admin/v1/admin.proto

import type { CpuMode__Input as _drydock_admin_v1_CpuMode__Input, CpuMode as _drydock_admin_v1_CpuMode } from '../../../drydock/admin/v1/CpuMode';
import type { ZonePolicy__Input as _drydock_admin_v1_ZonePolicy__Input, ZonePolicy as _drydock_admin_v1_ZonePolicy } from '../../../drydock/admin/v1/ZonePolicy';
import type { ZoneCpu__Input as _drydock_admin_v1_ZoneCpu__Input, ZoneCpu as _drydock_admin_v1_ZoneCpu } from '../../../drydock/admin/v1/ZoneCpu';
import type { Long } from '@grpc/proto-loader';

export interface Zone__Input {
  'id'?: (string);
  'name'?: (string);
  'description'?: (string);
  'cpu_mode'?: (_drydock_admin_v1_CpuMode__Input);
  'policy'?: (_drydock_admin_v1_ZonePolicy__Input | null);
  'cpu'?: (_drydock_admin_v1_ZoneCpu__Input | null);
  'host_ids'?: (string)[];
  'created_at_ms'?: (number | string | Long);
  'updated_at_ms'?: (number | string | Long);
  'policy_set'?: (_drydock_admin_v1_ZonePolicy__Input | null);
}

export interface Zone {
  'id': (string);
  'name': (string);
  'description': (string);
  'cpu_mode': (_drydock_admin_v1_CpuMode);
  'policy': (_drydock_admin_v1_ZonePolicy | null);
  'cpu': (_drydock_admin_v1_ZoneCpu | null);
  'host_ids': (string)[];
  'created_at_ms': (number);
  'updated_at_ms': (number);
  'policy_set': (_drydock_admin_v1_ZonePolicy | null);
}
