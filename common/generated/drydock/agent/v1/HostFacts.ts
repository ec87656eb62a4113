// Original file: proto/drydock/agent/v1/agent.proto

import type { CpuDescription__Input as _drydock_agent_v1_CpuDescription__Input, CpuDescription as _drydock_agent_v1_CpuDescription } from '../../../drydock/agent/v1/CpuDescription';
import type { CpuTopology__Input as _drydock_agent_v1_CpuTopology__Input, CpuTopology as _drydock_agent_v1_CpuTopology } from '../../../drydock/agent/v1/CpuTopology';
import type { StoragePool__Input as _drydock_agent_v1_StoragePool__Input, StoragePool as _drydock_agent_v1_StoragePool } from '../../../drydock/agent/v1/StoragePool';
import type { Long } from '@grpc/proto-loader';

export interface HostFacts__Input {
  'host_id'?: (string);
  'hostname'?: (string);
  'hypervisor_type'?: (string);
  'cpu'?: (_drydock_agent_v1_CpuDescription__Input | null);
  'topology'?: (_drydock_agent_v1_CpuTopology__Input | null);
  'memory_total_bytes'?: (number | string | Long);
  'memory_free_bytes'?: (number | string | Long);
  'libvirt_version'?: (string);
  'qemu_version'?: (string);
  'storage_pools'?: (_drydock_agent_v1_StoragePool__Input)[];
  'boot_id'?: (string);
  'incarnation'?: (string);
  'grpc_endpoint'?: (string);
  'migration_uri'?: (string);
  'agent_version'?: (string);
  'storage_cluster'?: (string);
  'gathered_at_ms'?: (number | string | Long);
  'os'?: (string);
  'kernel'?: (string);
}

export interface HostFacts {
  'host_id': (string);
  'hostname': (string);
  'hypervisor_type': (string);
  'cpu': (_drydock_agent_v1_CpuDescription | null);
  'topology': (_drydock_agent_v1_CpuTopology | null);
  'memory_total_bytes': (number);
  'memory_free_bytes': (number);
  'libvirt_version': (string);
  'qemu_version': (string);
  'storage_pools': (_drydock_agent_v1_StoragePool)[];
  'boot_id': (string);
  'incarnation': (string);
  'grpc_endpoint': (string);
  'migration_uri': (string);
  'agent_version': (string);
  'storage_cluster': (string);
  'gathered_at_ms': (number);
  'os': (string);
  'kernel': (string);
}
