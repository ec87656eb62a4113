// Original file: proto/drydock/agent/v1/agent.proto


export interface BaselineCpuRequest__Input {
  'cpu_xmls'?: (string)[];
  'migratable'?: (boolean);
  'expand_features'?: (boolean);
}

export interface BaselineCpuRequest {
  'cpu_xmls': (string)[];
  'migratable': (boolean);
  'expand_features': (boolean);
}
