// Original file: proto/drydock/admin/v1/admin.proto


export interface GetHostRequest__Input {
  'host_id'?: (string);
}

export interface GetHostRequest {
  'host_id': (string);
}
