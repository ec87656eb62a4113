// Original file: proto/drydock/agent/v1/agent.proto

import type { Server__Input as _drydock_agent_v1_Server__Input, Server as _drydock_agent_v1_Server } from '../../../drydock/agent/v1/Server';
import type { Long } from '@grpc/proto-loader';

export interface ListServersResponse__Input {
  'servers'?: (_drydock_agent_v1_Server__Input)[];
  'host_id'?: (string);
  'listed_at_ms'?: (number | string | Long);
}

export interface ListServersResponse {
  'servers': (_drydock_agent_v1_Server)[];
  'host_id': (string);
  'listed_at_ms': (number);
}
