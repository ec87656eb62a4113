// Original file: proto/drydock/admin/v1/admin.proto


export interface ListOperationsRequest__Input {
  'host_id'?: (string);
  'active_only'?: (boolean);
  'limit'?: (number);
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListOperationsRequest {
  'host_id': (string);
  'active_only': (boolean);
  'limit': (number);
  'page_size': (number);
  'page_token': (string);
}
