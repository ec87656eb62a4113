// Original file: proto/drydock/agent/v1/agent.proto


export interface ErrorInfo__Input {
  'kind'?: (string);
  'message'?: (string);
  'code'?: (number);
}

export interface ErrorInfo {
  'kind': (string);
  'message': (string);
  'code': (number);
}
