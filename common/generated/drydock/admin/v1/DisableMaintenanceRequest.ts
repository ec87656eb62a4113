// Original file: proto/drydock/admin/v1/admin.proto


export interface DisableMaintenanceRequest__Input {
  'host_id'?: (string);
  'skip_reboot'?: (boolean);
}

export interface DisableMaintenanceRequest {
  'host_id': (string);
  'skip_reboot': (boolean);
}
