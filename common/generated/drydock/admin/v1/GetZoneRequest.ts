// Original file: proto/drydock/admin/v1/admin.proto


export interface GetZoneRequest__Input {
  'zone_id'?: (string);
}

export interface GetZoneRequest {
  'zone_id': (string);
}
