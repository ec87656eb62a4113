// Original file: proto/drydock/agent/v1/agent.proto


export interface ListServersRequest__Input {
  'uuids'?: (string)[];
}

export interface ListServersRequest {
  'uuids': (string)[];
}
