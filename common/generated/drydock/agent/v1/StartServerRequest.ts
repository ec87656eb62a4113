// Original file: proto/drydock/agent/v1/agent.proto


export interface StartServerRequest__Input {
  'server_uuid'?: (string);
}

export interface StartServerRequest {
  'server_uuid': (string);
}
