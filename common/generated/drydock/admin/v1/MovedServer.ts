// Original file: proto/drydock/admin/v1/admin.proto


export interface MovedServer__Input {
  'server_uuid'?: (string);
  'server_name'?: (string);
  'to_host_id'?: (string);
  'was_running'?: (boolean);
}

export interface MovedServer {
  'server_uuid': (string);
  'server_name': (string);
  'to_host_id': (string);
  'was_running': (boolean);
}
