// Original file: proto/drydock/admin/v1/admin.proto


export interface PlanMaintenanceRequest__Input {
  'host_id'?: (string);
}

export interface PlanMaintenanceRequest {
  'host_id': (string);
}
