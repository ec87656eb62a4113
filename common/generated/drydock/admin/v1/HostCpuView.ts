// Original file: proto/drydock/admin/v1/admin.proto


export interface HostCpuView__Input {
  'model'?: (string);
  'vendor'?: (string);
  'default_flags'?: (string)[];
  'additional_flags'?: (string)[];
  'unmatching_extra_flags'?: (string)[];
  'unmatching_missing_flags'?: (string)[];
  'host_flags'?: (string)[];
  'compatible'?: (boolean);
  'advice'?: (string);
}

export interface HostCpuView {
  'model': (string);
  'vendor': (string);
  'default_flags': (string)[];
  'additional_flags': (string)[];
  'unmatching_extra_flags': (string)[];
  'unmatching_missing_flags': (string)[];
  'host_flags': (string)[];
  'compatible': (boolean);
  'advice': (string);
}
