// Original file: proto/drydock/agent/v1/agent.proto


export interface CompareCpuRequest__Input {
  'cpu_xml'?: (string);
}

export interface CompareCpuRequest {
  'cpu_xml': (string);
}
