// Original file: proto/drydock/agent/v1/agent.proto


export interface StopServerRequest__Input {
  'server_uuid'?: (string);
  'timeout_ms'?: (number);
  'force'?: (boolean);
}

export interface StopServerRequest {
  'server_uuid': (string);
  'timeout_ms': (number);
  'force': (boolean);
}
