// Original file: proto/drydock/admin/v1/admin.proto


export interface ReturnServersRequest__Input {
  'host_id'?: (string);
  'server_uuids'?: (string)[];
}

export interface ReturnServersRequest {
  'host_id': (string);
  'server_uuids': (string)[];
}
