// Original file: proto/drydock/admin/v1/admin.proto

import type { CpuMode__Input as _drydock_admin_v1_CpuMode__Input, CpuMode as _drydock_admin_v1_CpuMode } from '../../../drydock/admin/v1/CpuMode';
import type { ZonePolicy__Input as _drydock_admin_v1_ZonePolicy__Input, ZonePolicy as _drydock_admin_v1_ZonePolicy } from '../../../drydock/admin/v1/ZonePolicy';

export interface UpdateZoneRequest__Input {
  'zone_id'?: (string);
  'name'?: (string);
  'description'?: (string);
  'cpu_mode'?: (_drydock_admin_v1_CpuMode__Input);
  'policy'?: (_drydock_admin_v1_ZonePolicy__Input | null);
  'extra_cpu_features'?: (string)[];
  'set_extra_cpu_features'?: (boolean);
  '_name'?: "name";
  '_description'?: "description";
  '_cpu_mode'?: "cpu_mode";
}

export interface UpdateZoneRequest {
  'zone_id': (string);
  'name'?: (string);
  'description'?: (string);
  'cpu_mode'?: (_drydock_admin_v1_CpuMode);
  'policy': (_drydock_admin_v1_ZonePolicy | null);
  'extra_cpu_features': (string)[];
  'set_extra_cpu_features': (boolean);
  '_name'?: "name";
  '_description'?: "description";
  '_cpu_mode'?: "cpu_mode";
}
