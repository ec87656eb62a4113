// Original file: proto/drydock/agent/v1/agent.proto


export interface RebootHostResponse__Input {
  'previous_incarnation'?: (string);
  'previous_boot_id'?: (string);
  'accepted'?: (boolean);
}

export interface RebootHostResponse {
  'previous_incarnation': (string);
  'previous_boot_id': (string);
  'accepted': (boolean);
}
