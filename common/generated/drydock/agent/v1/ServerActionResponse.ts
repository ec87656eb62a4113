// Original file: proto/drydock/agent/v1/agent.proto

import type { Server__Input as _drydock_agent_v1_Server__Input, Server as _drydock_agent_v1_Server } from '../../../drydock/agent/v1/Server';

export interface ServerActionResponse__Input {
  'server'?: (_drydock_agent_v1_Server__Input | null);
  'changed'?: (boolean);
}

export interface ServerActionResponse {
  'server': (_drydock_agent_v1_Server | null);
  'changed': (boolean);
}
