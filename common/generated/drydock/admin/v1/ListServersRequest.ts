// Original file: proto/drydock/admin/v1/admin.proto


export interface ListServersRequest__Input {
  'host_id'?: (string);
  'zone_id'?: (string);
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListServersRequest {
  'host_id': (string);
  'zone_id': (string);
  'page_size': (number);
  'page_token': (string);
}
