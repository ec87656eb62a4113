// Original file: proto/drydock/admin/v1/admin.proto


export interface UpdateServerRequest__Input {
  'uuid'?: (string);
  'hot_migration'?: (boolean);
  'smart'?: (boolean);
  '_hot_migration'?: "hot_migration";
  '_smart'?: "smart";
}

export interface UpdateServerRequest {
  'uuid': (string);
  'hot_migration'?: (boolean);
  'smart'?: (boolean);
  '_hot_migration'?: "hot_migration";
  '_smart'?: "smart";
}
