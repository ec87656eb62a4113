// Original file: proto/drydock/admin/v1/admin.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelOperationRequest__Input as _drydock_admin_v1_CancelOperationRequest__Input, CancelOperationRequest as _drydock_admin_v1_CancelOperationRequest } from '../../../drydock/admin/v1/CancelOperationRequest';
import type { CreateZoneRequest__Input as _drydock_admin_v1_CreateZoneRequest__Input, CreateZoneRequest as _drydock_admin_v1_CreateZoneRequest } from '../../../drydock/admin/v1/CreateZoneRequest';
import type { DisableMaintenanceRequest__Input as _drydock_admin_v1_DisableMaintenanceRequest__Input, DisableMaintenanceRequest as _drydock_admin_v1_DisableMaintenanceRequest } from '../../../drydock/admin/v1/DisableMaintenanceRequest';
import type { EnableMaintenanceRequest__Input as _drydock_admin_v1_EnableMaintenanceRequest__Input, EnableMaintenanceRequest as _drydock_admin_v1_EnableMaintenanceRequest } from '../../../drydock/admin/v1/EnableMaintenanceRequest';
import type { GetHostRequest__Input as _drydock_admin_v1_GetHostRequest__Input, GetHostRequest as _drydock_admin_v1_GetHostRequest } from '../../../drydock/admin/v1/GetHostRequest';
import type { GetOperationRequest__Input as _drydock_admin_v1_GetOperationRequest__Input, GetOperationRequest as _drydock_admin_v1_GetOperationRequest } from '../../../drydock/admin/v1/GetOperationRequest';
import type { GetZoneCpuRequest__Input as _drydock_admin_v1_GetZoneCpuRequest__Input, GetZoneCpuRequest as _drydock_admin_v1_GetZoneCpuRequest } from '../../../drydock/admin/v1/GetZoneCpuRequest';
import type { GetZoneRequest__Input as _drydock_admin_v1_GetZoneRequest__Input, GetZoneRequest as _drydock_admin_v1_GetZoneRequest } from '../../../drydock/admin/v1/GetZoneRequest';
import type { Host__Input as _drydock_admin_v1_Host__Input, Host as _drydock_admin_v1_Host } from '../../../drydock/admin/v1/Host';
import type { ListHostsRequest__Input as _drydock_admin_v1_ListHostsRequest__Input, ListHostsRequest as _drydock_admin_v1_ListHostsRequest } from '../../../drydock/admin/v1/ListHostsRequest';
import type { ListHostsResponse__Input as _drydock_admin_v1_ListHostsResponse__Input, ListHostsResponse as _drydock_admin_v1_ListHostsResponse } from '../../../drydock/admin/v1/ListHostsResponse';
import type { ListOperationsRequest__Input as _drydock_admin_v1_ListOperationsRequest__Input, ListOperationsRequest as _drydock_admin_v1_ListOperationsRequest } from '../../../drydock/admin/v1/ListOperationsRequest';
import type { ListOperationsResponse__Input as _drydock_admin_v1_ListOperationsResponse__Input, ListOperationsResponse as _drydock_admin_v1_ListOperationsResponse } from '../../../drydock/admin/v1/ListOperationsResponse';
import type { ListServersRequest__Input as _drydock_admin_v1_ListServersRequest__Input, ListServersRequest as _drydock_admin_v1_ListServersRequest } from '../../../drydock/admin/v1/ListServersRequest';
import type { ListServersResponse__Input as _drydock_admin_v1_ListServersResponse__Input, ListServersResponse as _drydock_admin_v1_ListServersResponse } from '../../../drydock/admin/v1/ListServersResponse';
import type { ListZonesRequest__Input as _drydock_admin_v1_ListZonesRequest__Input, ListZonesRequest as _drydock_admin_v1_ListZonesRequest } from '../../../drydock/admin/v1/ListZonesRequest';
import type { ListZonesResponse__Input as _drydock_admin_v1_ListZonesResponse__Input, ListZonesResponse as _drydock_admin_v1_ListZonesResponse } from '../../../drydock/admin/v1/ListZonesResponse';
import type { Operation__Input as _drydock_admin_v1_Operation__Input, Operation as _drydock_admin_v1_Operation } from '../../../drydock/admin/v1/Operation';
import type { OperationEvent__Input as _drydock_admin_v1_OperationEvent__Input, OperationEvent as _drydock_admin_v1_OperationEvent } from '../../../drydock/admin/v1/OperationEvent';
import type { Plan__Input as _drydock_admin_v1_Plan__Input, Plan as _drydock_admin_v1_Plan } from '../../../drydock/admin/v1/Plan';
import type { PlanMaintenanceRequest__Input as _drydock_admin_v1_PlanMaintenanceRequest__Input, PlanMaintenanceRequest as _drydock_admin_v1_PlanMaintenanceRequest } from '../../../drydock/admin/v1/PlanMaintenanceRequest';
import type { RecomputeZoneCpuRequest__Input as _drydock_admin_v1_RecomputeZoneCpuRequest__Input, RecomputeZoneCpuRequest as _drydock_admin_v1_RecomputeZoneCpuRequest } from '../../../drydock/admin/v1/RecomputeZoneCpuRequest';
import type { ReturnServersRequest__Input as _drydock_admin_v1_ReturnServersRequest__Input, ReturnServersRequest as _drydock_admin_v1_ReturnServersRequest } from '../../../drydock/admin/v1/ReturnServersRequest';
import type { Server__Input as _drydock_admin_v1_Server__Input, Server as _drydock_admin_v1_Server } from '../../../drydock/admin/v1/Server';
import type { UpdateHostRequest__Input as _drydock_admin_v1_UpdateHostRequest__Input, UpdateHostRequest as _drydock_admin_v1_UpdateHostRequest } from '../../../drydock/admin/v1/UpdateHostRequest';
import type { UpdateServerRequest__Input as _drydock_admin_v1_UpdateServerRequest__Input, UpdateServerRequest as _drydock_admin_v1_UpdateServerRequest } from '../../../drydock/admin/v1/UpdateServerRequest';
import type { UpdateZoneRequest__Input as _drydock_admin_v1_UpdateZoneRequest__Input, UpdateZoneRequest as _drydock_admin_v1_UpdateZoneRequest } from '../../../drydock/admin/v1/UpdateZoneRequest';
import type { WatchOperationRequest__Input as _drydock_admin_v1_WatchOperationRequest__Input, WatchOperationRequest as _drydock_admin_v1_WatchOperationRequest } from '../../../drydock/admin/v1/WatchOperationRequest';
import type { Zone__Input as _drydock_admin_v1_Zone__Input, Zone as _drydock_admin_v1_Zone } from '../../../drydock/admin/v1/Zone';
import type { ZoneCpu__Input as _drydock_admin_v1_ZoneCpu__Input, ZoneCpu as _drydock_admin_v1_ZoneCpu } from '../../../drydock/admin/v1/ZoneCpu';

export interface AdminClient extends grpc.Client {
  CancelOperation(argument: _drydock_admin_v1_CancelOperationRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  CancelOperation(argument: _drydock_admin_v1_CancelOperationRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  CancelOperation(argument: _drydock_admin_v1_CancelOperationRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  CancelOperation(argument: _drydock_admin_v1_CancelOperationRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  cancelOperation(argument: _drydock_admin_v1_CancelOperationRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  cancelOperation(argument: _drydock_admin_v1_CancelOperationRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  cancelOperation(argument: _drydock_admin_v1_CancelOperationRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  cancelOperation(argument: _drydock_admin_v1_CancelOperationRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  
  CreateZone(argument: _drydock_admin_v1_CreateZoneRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  CreateZone(argument: _drydock_admin_v1_CreateZoneRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  CreateZone(argument: _drydock_admin_v1_CreateZoneRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  CreateZone(argument: _drydock_admin_v1_CreateZoneRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  createZone(argument: _drydock_admin_v1_CreateZoneRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  createZone(argument: _drydock_admin_v1_CreateZoneRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  createZone(argument: _drydock_admin_v1_CreateZoneRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  createZone(argument: _drydock_admin_v1_CreateZoneRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  
  DisableMaintenance(argument: _drydock_admin_v1_DisableMaintenanceRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  DisableMaintenance(argument: _drydock_admin_v1_DisableMaintenanceRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  DisableMaintenance(argument: _drydock_admin_v1_DisableMaintenanceRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  DisableMaintenance(argument: _drydock_admin_v1_DisableMaintenanceRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  disableMaintenance(argument: _drydock_admin_v1_DisableMaintenanceRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  disableMaintenance(argument: _drydock_admin_v1_DisableMaintenanceRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  disableMaintenance(argument: _drydock_admin_v1_DisableMaintenanceRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  disableMaintenance(argument: _drydock_admin_v1_DisableMaintenanceRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  
  EnableMaintenance(argument: _drydock_admin_v1_EnableMaintenanceRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  EnableMaintenance(argument: _drydock_admin_v1_EnableMaintenanceRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  EnableMaintenance(argument: _drydock_admin_v1_EnableMaintenanceRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  EnableMaintenance(argument: _drydock_admin_v1_EnableMaintenanceRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  enableMaintenance(argument: _drydock_admin_v1_EnableMaintenanceRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  enableMaintenance(argument: _drydock_admin_v1_EnableMaintenanceRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  enableMaintenance(argument: _drydock_admin_v1_EnableMaintenanceRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  enableMaintenance(argument: _drydock_admin_v1_EnableMaintenanceRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  
  GetHost(argument: _drydock_admin_v1_GetHostRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  GetHost(argument: _drydock_admin_v1_GetHostRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  GetHost(argument: _drydock_admin_v1_GetHostRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  GetHost(argument: _drydock_admin_v1_GetHostRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  getHost(argument: _drydock_admin_v1_GetHostRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  getHost(argument: _drydock_admin_v1_GetHostRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  getHost(argument: _drydock_admin_v1_GetHostRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  getHost(argument: _drydock_admin_v1_GetHostRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  
  GetOperation(argument: _drydock_admin_v1_GetOperationRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  GetOperation(argument: _drydock_admin_v1_GetOperationRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  GetOperation(argument: _drydock_admin_v1_GetOperationRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  GetOperation(argument: _drydock_admin_v1_GetOperationRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  getOperation(argument: _drydock_admin_v1_GetOperationRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  getOperation(argument: _drydock_admin_v1_GetOperationRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  getOperation(argument: _drydock_admin_v1_GetOperationRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  getOperation(argument: _drydock_admin_v1_GetOperationRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  
  GetZone(argument: _drydock_admin_v1_GetZoneRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  GetZone(argument: _drydock_admin_v1_GetZoneRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  GetZone(argument: _drydock_admin_v1_GetZoneRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  GetZone(argument: _drydock_admin_v1_GetZoneRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  getZone(argument: _drydock_admin_v1_GetZoneRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  getZone(argument: _drydock_admin_v1_GetZoneRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  getZone(argument: _drydock_admin_v1_GetZoneRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  getZone(argument: _drydock_admin_v1_GetZoneRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  
  GetZoneCpu(argument: _drydock_admin_v1_GetZoneCpuRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  GetZoneCpu(argument: _drydock_admin_v1_GetZoneCpuRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  GetZoneCpu(argument: _drydock_admin_v1_GetZoneCpuRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  GetZoneCpu(argument: _drydock_admin_v1_GetZoneCpuRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  getZoneCpu(argument: _drydock_admin_v1_GetZoneCpuRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  getZoneCpu(argument: _drydock_admin_v1_GetZoneCpuRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  getZoneCpu(argument: _drydock_admin_v1_GetZoneCpuRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  getZoneCpu(argument: _drydock_admin_v1_GetZoneCpuRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  
  ListHosts(argument: _drydock_admin_v1_ListHostsRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListHostsResponse>): grpc.ClientUnaryCall;
  ListHosts(argument: _drydock_admin_v1_ListHostsRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ListHostsResponse>): grpc.ClientUnaryCall;
  ListHosts(argument: _drydock_admin_v1_ListHostsRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListHostsResponse>): grpc.ClientUnaryCall;
  ListHosts(argument: _drydock_admin_v1_ListHostsRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ListHostsResponse>): grpc.ClientUnaryCall;
  listHosts(argument: _drydock_admin_v1_ListHostsRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListHostsResponse>): grpc.ClientUnaryCall;
  listHosts(argument: _drydock_admin_v1_ListHostsRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ListHostsResponse>): grpc.ClientUnaryCall;
  listHosts(argument: _drydock_admin_v1_ListHostsRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListHostsResponse>): grpc.ClientUnaryCall;
  listHosts(argument: _drydock_admin_v1_ListHostsRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ListHostsResponse>): grpc.ClientUnaryCall;
  
  ListOperations(argument: _drydock_admin_v1_ListOperationsRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListOperationsResponse>): grpc.ClientUnaryCall;
  ListOperations(argument: _drydock_admin_v1_ListOperationsRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ListOperationsResponse>): grpc.ClientUnaryCall;
  ListOperations(argument: _drydock_admin_v1_ListOperationsRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListOperationsResponse>): grpc.ClientUnaryCall;
  ListOperations(argument: _drydock_admin_v1_ListOperationsRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ListOperationsResponse>): grpc.ClientUnaryCall;
  listOperations(argument: _drydock_admin_v1_ListOperationsRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListOperationsResponse>): grpc.ClientUnaryCall;
  listOperations(argument: _drydock_admin_v1_ListOperationsRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ListOperationsResponse>): grpc.ClientUnaryCall;
  listOperations(argument: _drydock_admin_v1_ListOperationsRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListOperationsResponse>): grpc.ClientUnaryCall;
  listOperations(argument: _drydock_admin_v1_ListOperationsRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ListOperationsResponse>): grpc.ClientUnaryCall;
  
  ListServers(argument: _drydock_admin_v1_ListServersRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListServersResponse>): grpc.ClientUnaryCall;
  ListServers(argument: _drydock_admin_v1_ListServersRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ListServersResponse>): grpc.ClientUnaryCall;
  ListServers(argument: _drydock_admin_v1_ListServersRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListServersResponse>): grpc.ClientUnaryCall;
  ListServers(argument: _drydock_admin_v1_ListServersRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ListServersResponse>): grpc.ClientUnaryCall;
  listServers(argument: _drydock_admin_v1_ListServersRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListServersResponse>): grpc.ClientUnaryCall;
  listServers(argument: _drydock_admin_v1_ListServersRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ListServersResponse>): grpc.ClientUnaryCall;
  listServers(argument: _drydock_admin_v1_ListServersRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListServersResponse>): grpc.ClientUnaryCall;
  listServers(argument: _drydock_admin_v1_ListServersRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ListServersResponse>): grpc.ClientUnaryCall;
  
  ListZones(argument: _drydock_admin_v1_ListZonesRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListZonesResponse>): grpc.ClientUnaryCall;
  ListZones(argument: _drydock_admin_v1_ListZonesRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ListZonesResponse>): grpc.ClientUnaryCall;
  ListZones(argument: _drydock_admin_v1_ListZonesRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListZonesResponse>): grpc.ClientUnaryCall;
  ListZones(argument: _drydock_admin_v1_ListZonesRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ListZonesResponse>): grpc.ClientUnaryCall;
  listZones(argument: _drydock_admin_v1_ListZonesRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListZonesResponse>): grpc.ClientUnaryCall;
  listZones(argument: _drydock_admin_v1_ListZonesRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ListZonesResponse>): grpc.ClientUnaryCall;
  listZones(argument: _drydock_admin_v1_ListZonesRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ListZonesResponse>): grpc.ClientUnaryCall;
  listZones(argument: _drydock_admin_v1_ListZonesRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ListZonesResponse>): grpc.ClientUnaryCall;
  
  PlanMaintenance(argument: _drydock_admin_v1_PlanMaintenanceRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Plan>): grpc.ClientUnaryCall;
  PlanMaintenance(argument: _drydock_admin_v1_PlanMaintenanceRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Plan>): grpc.ClientUnaryCall;
  PlanMaintenance(argument: _drydock_admin_v1_PlanMaintenanceRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Plan>): grpc.ClientUnaryCall;
  PlanMaintenance(argument: _drydock_admin_v1_PlanMaintenanceRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Plan>): grpc.ClientUnaryCall;
  planMaintenance(argument: _drydock_admin_v1_PlanMaintenanceRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Plan>): grpc.ClientUnaryCall;
  planMaintenance(argument: _drydock_admin_v1_PlanMaintenanceRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Plan>): grpc.ClientUnaryCall;
  planMaintenance(argument: _drydock_admin_v1_PlanMaintenanceRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Plan>): grpc.ClientUnaryCall;
  planMaintenance(argument: _drydock_admin_v1_PlanMaintenanceRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Plan>): grpc.ClientUnaryCall;
  
  RecomputeZoneCpu(argument: _drydock_admin_v1_RecomputeZoneCpuRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  RecomputeZoneCpu(argument: _drydock_admin_v1_RecomputeZoneCpuRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  RecomputeZoneCpu(argument: _drydock_admin_v1_RecomputeZoneCpuRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  RecomputeZoneCpu(argument: _drydock_admin_v1_RecomputeZoneCpuRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  recomputeZoneCpu(argument: _drydock_admin_v1_RecomputeZoneCpuRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  recomputeZoneCpu(argument: _drydock_admin_v1_RecomputeZoneCpuRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  recomputeZoneCpu(argument: _drydock_admin_v1_RecomputeZoneCpuRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  recomputeZoneCpu(argument: _drydock_admin_v1_RecomputeZoneCpuRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_ZoneCpu>): grpc.ClientUnaryCall;
  
  ReturnServers(argument: _drydock_admin_v1_ReturnServersRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  ReturnServers(argument: _drydock_admin_v1_ReturnServersRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  ReturnServers(argument: _drydock_admin_v1_ReturnServersRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  ReturnServers(argument: _drydock_admin_v1_ReturnServersRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  returnServers(argument: _drydock_admin_v1_ReturnServersRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  returnServers(argument: _drydock_admin_v1_ReturnServersRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  returnServers(argument: _drydock_admin_v1_ReturnServersRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  returnServers(argument: _drydock_admin_v1_ReturnServersRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Operation>): grpc.ClientUnaryCall;
  
  UpdateHost(argument: _drydock_admin_v1_UpdateHostRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  UpdateHost(argument: _drydock_admin_v1_UpdateHostRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  UpdateHost(argument: _drydock_admin_v1_UpdateHostRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  UpdateHost(argument: _drydock_admin_v1_UpdateHostRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  updateHost(argument: _drydock_admin_v1_UpdateHostRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  updateHost(argument: _drydock_admin_v1_UpdateHostRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  updateHost(argument: _drydock_admin_v1_UpdateHostRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  updateHost(argument: _drydock_admin_v1_UpdateHostRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Host>): grpc.ClientUnaryCall;
  
  UpdateServer(argument: _drydock_admin_v1_UpdateServerRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Server>): grpc.ClientUnaryCall;
  UpdateServer(argument: _drydock_admin_v1_UpdateServerRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Server>): grpc.ClientUnaryCall;
  UpdateServer(argument: _drydock_admin_v1_UpdateServerRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Server>): grpc.ClientUnaryCall;
  UpdateServer(argument: _drydock_admin_v1_UpdateServerRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Server>): grpc.ClientUnaryCall;
  updateServer(argument: _drydock_admin_v1_UpdateServerRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Server>): grpc.ClientUnaryCall;
  updateServer(argument: _drydock_admin_v1_UpdateServerRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Server>): grpc.ClientUnaryCall;
  updateServer(argument: _drydock_admin_v1_UpdateServerRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Server>): grpc.ClientUnaryCall;
  updateServer(argument: _drydock_admin_v1_UpdateServerRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Server>): grpc.ClientUnaryCall;
  
  UpdateZone(argument: _drydock_admin_v1_UpdateZoneRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  UpdateZone(argument: _drydock_admin_v1_UpdateZoneRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  UpdateZone(argument: _drydock_admin_v1_UpdateZoneRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  UpdateZone(argument: _drydock_admin_v1_UpdateZoneRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  updateZone(argument: _drydock_admin_v1_UpdateZoneRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  updateZone(argument: _drydock_admin_v1_UpdateZoneRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  updateZone(argument: _drydock_admin_v1_UpdateZoneRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  updateZone(argument: _drydock_admin_v1_UpdateZoneRequest__Input, callback: grpc.requestCallback<_drydock_admin_v1_Zone>): grpc.ClientUnaryCall;
  
  WatchOperation(argument: _drydock_admin_v1_WatchOperationRequest__Input, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_drydock_admin_v1_OperationEvent>;
  WatchOperation(argument: _drydock_admin_v1_WatchOperationRequest__Input, options?: grpc.CallOptions): grpc.ClientReadableStream<_drydock_admin_v1_OperationEvent>;
  watchOperation(argument: _drydock_admin_v1_WatchOperationRequest__Input, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_drydock_admin_v1_OperationEvent>;
  watchOperation(argument: _drydock_admin_v1_WatchOperationRequest__Input, options?: grpc.CallOptions): grpc.ClientReadableStream<_drydock_admin_v1_OperationEvent>;
  
}

export interface AdminHandlers extends grpc.UntypedServiceImplementation {
  CancelOperation: grpc.handleUnaryCall<_drydock_admin_v1_CancelOperationRequest, _drydock_admin_v1_Operation__Input>;
  
  CreateZone: grpc.handleUnaryCall<_drydock_admin_v1_CreateZoneRequest, _drydock_admin_v1_Zone__Input>;
  
  DisableMaintenance: grpc.handleUnaryCall<_drydock_admin_v1_DisableMaintenanceRequest, _drydock_admin_v1_Operation__Input>;
  
  EnableMaintenance: grpc.handleUnaryCall<_drydock_admin_v1_EnableMaintenanceRequest, _drydock_admin_v1_Operation__Input>;
  
  GetHost: grpc.handleUnaryCall<_drydock_admin_v1_GetHostRequest, _drydock_admin_v1_Host__Input>;
  
  GetOperation: grpc.handleUnaryCall<_drydock_admin_v1_GetOperationRequest, _drydock_admin_v1_Operation__Input>;
  
  GetZone: grpc.handleUnaryCall<_drydock_admin_v1_GetZoneRequest, _drydock_admin_v1_Zone__Input>;
  
  GetZoneCpu: grpc.handleUnaryCall<_drydock_admin_v1_GetZoneCpuRequest, _drydock_admin_v1_ZoneCpu__Input>;
  
  ListHosts: grpc.handleUnaryCall<_drydock_admin_v1_ListHostsRequest, _drydock_admin_v1_ListHostsResponse__Input>;
  
  ListOperations: grpc.handleUnaryCall<_drydock_admin_v1_ListOperationsRequest, _drydock_admin_v1_ListOperationsResponse__Input>;
  
  ListServers: grpc.handleUnaryCall<_drydock_admin_v1_ListServersRequest, _drydock_admin_v1_ListServersResponse__Input>;
  
  ListZones: grpc.handleUnaryCall<_drydock_admin_v1_ListZonesRequest, _drydock_admin_v1_ListZonesResponse__Input>;
  
  PlanMaintenance: grpc.handleUnaryCall<_drydock_admin_v1_PlanMaintenanceRequest, _drydock_admin_v1_Plan__Input>;
  
  RecomputeZoneCpu: grpc.handleUnaryCall<_drydock_admin_v1_RecomputeZoneCpuRequest, _drydock_admin_v1_ZoneCpu__Input>;
  
  ReturnServers: grpc.handleUnaryCall<_drydock_admin_v1_ReturnServersRequest, _drydock_admin_v1_Operation__Input>;
  
  UpdateHost: grpc.handleUnaryCall<_drydock_admin_v1_UpdateHostRequest, _drydock_admin_v1_Host__Input>;
  
  UpdateServer: grpc.handleUnaryCall<_drydock_admin_v1_UpdateServerRequest, _drydock_admin_v1_Server__Input>;
  
  UpdateZone: grpc.handleUnaryCall<_drydock_admin_v1_UpdateZoneRequest, _drydock_admin_v1_Zone__Input>;
  
  WatchOperation: grpc.handleServerStreamingCall<_drydock_admin_v1_WatchOperationRequest, _drydock_admin_v1_OperationEvent__Input>;
  
}

export interface AdminDefinition extends grpc.ServiceDefinition {
  CancelOperation: MethodDefinition<_drydock_admin_v1_CancelOperationRequest__Input, _drydock_admin_v1_Operation__Input, _drydock_admin_v1_CancelOperationRequest, _drydock_admin_v1_Operation>
  CreateZone: MethodDefinition<_drydock_admin_v1_CreateZoneRequest__Input, _drydock_admin_v1_Zone__Input, _drydock_admin_v1_CreateZoneRequest, _drydock_admin_v1_Zone>
  DisableMaintenance: MethodDefinition<_drydock_admin_v1_DisableMaintenanceRequest__Input, _drydock_admin_v1_Operation__Input, _drydock_admin_v1_DisableMaintenanceRequest, _drydock_admin_v1_Operation>
  EnableMaintenance: MethodDefinition<_drydock_admin_v1_EnableMaintenanceRequest__Input, _drydock_admin_v1_Operation__Input, _drydock_admin_v1_EnableMaintenanceRequest, _drydock_admin_v1_Operation>
  GetHost: MethodDefinition<_drydock_admin_v1_GetHostRequest__Input, _drydock_admin_v1_Host__Input, _drydock_admin_v1_GetHostRequest, _drydock_admin_v1_Host>
  GetOperation: MethodDefinition<_drydock_admin_v1_GetOperationRequest__Input, _drydock_admin_v1_Operation__Input, _drydock_admin_v1_GetOperationRequest, _drydock_admin_v1_Operation>
  GetZone: MethodDefinition<_drydock_admin_v1_GetZoneRequest__Input, _drydock_admin_v1_Zone__Input, _drydock_admin_v1_GetZoneRequest, _drydock_admin_v1_Zone>
  GetZoneCpu: MethodDefinition<_drydock_admin_v1_GetZoneCpuRequest__Input, _drydock_admin_v1_ZoneCpu__Input, _drydock_admin_v1_GetZoneCpuRequest, _drydock_admin_v1_ZoneCpu>
  ListHosts: MethodDefinition<_drydock_admin_v1_ListHostsRequest__Input, _drydock_admin_v1_ListHostsResponse__Input, _drydock_admin_v1_ListHostsRequest, _drydock_admin_v1_ListHostsResponse>
  ListOperations: MethodDefinition<_drydock_admin_v1_ListOperationsRequest__Input, _drydock_admin_v1_ListOperationsResponse__Input, _drydock_admin_v1_ListOperationsRequest, _drydock_admin_v1_ListOperationsResponse>
  ListServers: MethodDefinition<_drydock_admin_v1_ListServersRequest__Input, _drydock_admin_v1_ListServersResponse__Input, _drydock_admin_v1_ListServersRequest, _drydock_admin_v1_ListServersResponse>
  ListZones: MethodDefinition<_drydock_admin_v1_ListZonesRequest__Input, _drydock_admin_v1_ListZonesResponse__Input, _drydock_admin_v1_ListZonesRequest, _drydock_admin_v1_ListZonesResponse>
  PlanMaintenance: MethodDefinition<_drydock_admin_v1_PlanMaintenanceRequest__Input, _drydock_admin_v1_Plan__Input, _drydock_admin_v1_PlanMaintenanceRequest, _drydock_admin_v1_Plan>
  RecomputeZoneCpu: MethodDefinition<_drydock_admin_v1_RecomputeZoneCpuRequest__Input, _drydock_admin_v1_ZoneCpu__Input, _drydock_admin_v1_RecomputeZoneCpuRequest, _drydock_admin_v1_ZoneCpu>
  ReturnServers: MethodDefinition<_drydock_admin_v1_ReturnServersRequest__Input, _drydock_admin_v1_Operation__Input, _drydock_admin_v1_ReturnServersRequest, _drydock_admin_v1_Operation>
  UpdateHost: MethodDefinition<_drydock_admin_v1_UpdateHostRequest__Input, _drydock_admin_v1_Host__Input, _drydock_admin_v1_UpdateHostRequest, _drydock_admin_v1_Host>
  UpdateServer: MethodDefinition<_drydock_admin_v1_UpdateServerRequest__Input, _drydock_admin_v1_Server__Input, _drydock_admin_v1_UpdateServerRequest, _drydock_admin_v1_Server>
  UpdateZone: MethodDefinition<_drydock_admin_v1_UpdateZoneRequest__Input, _drydock_admin_v1_Zone__Input, _drydock_admin_v1_UpdateZoneRequest, _drydock_admin_v1_Zone>
  WatchOperation: MethodDefinition<_drydock_admin_v1_WatchOperationRequest__Input, _drydock_admin_v1_OperationEvent__Input, _drydock_admin_v1_WatchOperationRequest, _drydock_admin_v1_OperationEvent>
}
