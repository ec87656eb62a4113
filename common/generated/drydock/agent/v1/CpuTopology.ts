// Original file: proto/drydock/agent/v1/agent.proto


export interface CpuTopology__Input {
  'sockets'?: (number);
  'cores_per_socket'?: (number);
  'threads_per_core'?: (number);
  'logical_cpus'?: (number);
}

export interface CpuTopology {
  'sockets': (number);
  'cores_per_socket': (number);
  'threads_per_core': (number);
  'logical_cpus': (number);
}
