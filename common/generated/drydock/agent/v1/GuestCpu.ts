// Original file: proto/drydock/agent/v1/agent.proto


export interface GuestCpu__Input {
  'mode'?: (string);
  'model'?: (string);
  'features'?: (string)[];
  'xml'?: (string);
}

export interface GuestCpu {
  'mode': (string);
  'model': (string);
  'features': (string)[];
  'xml': (string);
}
