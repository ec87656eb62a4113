// Original file: proto/drydock/agent/v1/agent.proto


export interface CpuDescription__Input {
  'arch'?: (string);
  'vendor'?: (string);
  'model'?: (string);
  'features'?: (string)[];
  'disabled_features'?: (string)[];
  'xml'?: (string);
}

export interface CpuDescription {
  'arch': (string);
  'vendor': (string);
  'model': (string);
  'features': (string)[];
  'disabled_features': (string)[];
  'xml': (string);
}
