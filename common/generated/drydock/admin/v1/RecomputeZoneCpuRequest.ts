// Original file: proto/drydock/admin/v1/admin.proto


export interface RecomputeZoneCpuRequest__Input {
  'zone_id'?: (string);
  'allow_upgrade'?: (boolean);
}

export interface RecomputeZoneCpuRequest {
  'zone_id': (string);
  'allow_upgrade': (boolean);
}
