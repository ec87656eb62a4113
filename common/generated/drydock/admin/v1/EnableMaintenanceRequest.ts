// Original file: proto/drydock/admin/v1/admin.proto


export interface EnableMaintenanceRequest__Input {
  'host_id'?: (string);
  'stop_unmigratable'?: (boolean);
  'confirm'?: (boolean);
}

export interface EnableMaintenanceRequest {
  'host_id': (string);
  'stop_unmigratable': (boolean);
  'confirm': (boolean);
}
