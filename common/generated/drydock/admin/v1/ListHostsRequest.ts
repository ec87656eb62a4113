// Original file: proto/drydock/admin/v1/admin.proto


export interface ListHostsRequest__Input {
  'zone_id'?: (string);
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListHostsRequest {
  'zone_id': (string);
  'page_size': (number);
  'page_token': (string);
}
