// Original file: proto/drydock/agent/v1/agent.proto

import type { ServerState__Input as _drydock_agent_v1_ServerState__Input, ServerState as _drydock_agent_v1_ServerState } from '../../../drydock/agent/v1/ServerState';
import type { Disk__Input as _drydock_agent_v1_Disk__Input, Disk as _drydock_agent_v1_Disk } from '../../../drydock/agent/v1/Disk';
import type { GuestCpu__Input as _drydock_agent_v1_GuestCpu__Input, GuestCpu as _drydock_agent_v1_GuestCpu } from '../../../drydock/agent/v1/GuestCpu';
import type { Long } from '@grpc/proto-loader';

export interface Server__Input {
  'uuid'?: (string);
  'name'?: (string);
  'state'?: (_drydock_agent_v1_ServerState__Input);
  'vcpus'?: (number);
  'memory_bytes'?: (number | string | Long);
  'disks'?: (_drydock_agent_v1_Disk__Input)[];
  'cpu'?: (_drydock_agent_v1_GuestCpu__Input | null);
  'hot_migration'?: (boolean);
  'smart'?: (boolean);
  'persistent'?: (boolean);
  'domain_type'?: (string);
}

export interface Server {
  'uuid': (string);
  'name': (string);
  'state': (_drydock_agent_v1_ServerState);
  'vcpus': (number);
  'memory_bytes': (number);
  'disks': (_drydock_agent_v1_Disk)[];
  'cpu': (_drydock_agent_v1_GuestCpu | null);
  'hot_migration': (boolean);
  'smart': (boolean);
  'persistent': (boolean);
  'domain_type': (string);
}
