// Original file: proto/drydock/admin/v1/admin.proto


export interface UpdateHostRequest__Input {
  'host_id'?: (string);
  'zone_id'?: (string);
  'enabled'?: (boolean);
  'storage_cluster'?: (string);
  'label'?: (string);
  '_zone_id'?: "zone_id";
  '_enabled'?: "enabled";
  '_storage_cluster'?: "storage_cluster";
  '_label'?: "label";
}

export interface UpdateHostRequest {
  'host_id': (string);
  'zone_id'?: (string);
  'enabled'?: (boolean);
  'storage_cluster'?: (string);
  'label'?: (string);
  '_zone_id'?: "zone_id";
  '_enabled'?: "enabled";
  '_storage_cluster'?: "storage_cluster";
  '_label'?: "label";
}
