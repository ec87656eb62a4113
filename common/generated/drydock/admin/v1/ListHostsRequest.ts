// Original file: proto/drydock/admin/v1/admin.proto


export interface ListHostsRequest__Input {
  'zone_id'?: (string);
}

export interface ListHostsRequest {
  'zone_id': (string);
}
