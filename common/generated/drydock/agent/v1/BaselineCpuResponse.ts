// Original file: proto/drydock/agent/v1/agent.proto

import type { CpuDescription__Input as _drydock_agent_v1_CpuDescription__Input, CpuDescription as _drydock_agent_v1_CpuDescription } from '../../../drydock/agent/v1/CpuDescription';

export interface BaselineCpuResponse__Input {
  'cpu'?: (_drydock_agent_v1_CpuDescription__Input | null);
}

export interface BaselineCpuResponse {
  'cpu': (_drydock_agent_v1_CpuDescription | null);
}
