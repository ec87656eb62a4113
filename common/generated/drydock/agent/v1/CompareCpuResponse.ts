// Original file: proto/drydock/agent/v1/agent.proto

import type { CpuCompareResult__Input as _drydock_agent_v1_CpuCompareResult__Input, CpuCompareResult as _drydock_agent_v1_CpuCompareResult } from '../../../drydock/agent/v1/CpuCompareResult';

export interface CompareCpuResponse__Input {
  'result'?: (_drydock_agent_v1_CpuCompareResult__Input);
  'missing_features'?: (string)[];
  'message'?: (string);
}

export interface CompareCpuResponse {
  'result': (_drydock_agent_v1_CpuCompareResult);
  'missing_features': (string)[];
  'message': (string);
}
