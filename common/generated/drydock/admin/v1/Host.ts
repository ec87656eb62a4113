// Original file: proto/drydock/admin/v1/admin.proto

import type { MaintenanceState__Input as _drydock_admin_v1_MaintenanceState__Input, MaintenanceState as _drydock_admin_v1_MaintenanceState } from '../../../drydock/admin/v1/MaintenanceState';
import type { HostCpuView__Input as _drydock_admin_v1_HostCpuView__Input, HostCpuView as _drydock_admin_v1_HostCpuView } from '../../../drydock/admin/v1/HostCpuView';
import type { HostStoragePool__Input as _drydock_admin_v1_HostStoragePool__Input, HostStoragePool as _drydock_admin_v1_HostStoragePool } from '../../../drydock/admin/v1/HostStoragePool';
import type { Long } from '@grpc/proto-loader';

export interface Host__Input {
  'id'?: (string);
  'hostname'?: (string);
  'zone_id'?: (string);
  'label'?: (string);
  'enabled'?: (boolean);
  'storage_cluster'?: (string);
  'hypervisor_type'?: (string);
  'grpc_endpoint'?: (string);
  'migration_uri'?: (string);
  'online'?: (boolean);
  'last_heartbeat_ms'?: (number | string | Long);
  'incarnation'?: (string);
  'boot_id'?: (string);
  'maintenance'?: (_drydock_admin_v1_MaintenanceState__Input);
  'maintenance_operation_id'?: (string);
  'memory_total_bytes'?: (number | string | Long);
  'memory_free_bytes'?: (number | string | Long);
  'logical_cpus'?: (number);
  'server_count'?: (number);
  'cpu'?: (_drydock_admin_v1_HostCpuView__Input | null);
  'storage_pools_shared'?: (string)[];
  'libvirt_version'?: (string);
  'qemu_version'?: (string);
  'registered_at_ms'?: (number | string | Long);
  'not_a_target_because'?: (string)[];
  'storage_pools'?: (_drydock_admin_v1_HostStoragePool__Input)[];
}

export interface Host {
  'id': (string);
  'hostname': (string);
  'zone_id': (string);
  'label': (string);
  'enabled': (boolean);
  'storage_cluster': (string);
  'hypervisor_type': (string);
  'grpc_endpoint': (string);
  'migration_uri': (string);
  'online': (boolean);
  'last_heartbeat_ms': (number);
  'incarnation': (string);
  'boot_id': (string);
  'maintenance': (_drydock_admin_v1_MaintenanceState);
  'maintenance_operation_id': (string);
  'memory_total_bytes': (number);
  'memory_free_bytes': (number);
  'logical_cpus': (number);
  'server_count': (number);
  'cpu': (_drydock_admin_v1_HostCpuView | null);
  'storage_pools_shared': (string)[];
  'libvirt_version': (string);
  'qemu_version': (string);
  'registered_at_ms': (number);
  'not_a_target_because': (string)[];
  'storage_pools': (_drydock_admin_v1_HostStoragePool)[];
}
