// Original file: proto/drydock/agent/v1/agent.proto


export interface RebootHostRequest__Input {
  'reason'?: (string);
  'allow_running_servers'?: (boolean);
  'host_id'?: (string);
}

export interface RebootHostRequest {
  'reason': (string);
  'allow_running_servers': (boolean);
  'host_id': (string);
}
