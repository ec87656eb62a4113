// Original file: proto/drydock/admin/v1/admin.proto


export interface GetZoneCpuRequest__Input {
  'zone_id'?: (string);
}

export interface GetZoneCpuRequest {
  'zone_id': (string);
}
