import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdminClient as _drydock_admin_v1_AdminClient, AdminDefinition as _drydock_admin_v1_AdminDefinition } from './drydock/admin/v1/Admin';
import type { CancelOperationRequest__Input as _drydock_admin_v1_CancelOperationRequest__Input, CancelOperationRequest as _drydock_admin_v1_CancelOperationRequest } from './drydock/admin/v1/CancelOperationRequest';
import type { CandidateVerdict__Input as _drydock_admin_v1_CandidateVerdict__Input, CandidateVerdict as _drydock_admin_v1_CandidateVerdict } from './drydock/admin/v1/CandidateVerdict';
import type { CheckResult__Input as _drydock_admin_v1_CheckResult__Input, CheckResult as _drydock_admin_v1_CheckResult } from './drydock/admin/v1/CheckResult';
import type { CreateZoneRequest__Input as _drydock_admin_v1_CreateZoneRequest__Input, CreateZoneRequest as _drydock_admin_v1_CreateZoneRequest } from './drydock/admin/v1/CreateZoneRequest';
import type { DisableMaintenanceRequest__Input as _drydock_admin_v1_DisableMaintenanceRequest__Input, DisableMaintenanceRequest as _drydock_admin_v1_DisableMaintenanceRequest } from './drydock/admin/v1/DisableMaintenanceRequest';
import type { EnableMaintenanceRequest__Input as _drydock_admin_v1_EnableMaintenanceRequest__Input, EnableMaintenanceRequest as _drydock_admin_v1_EnableMaintenanceRequest } from './drydock/admin/v1/EnableMaintenanceRequest';
import type { GetHostRequest__Input as _drydock_admin_v1_GetHostRequest__Input, GetHostRequest as _drydock_admin_v1_GetHostRequest } from './drydock/admin/v1/GetHostRequest';
import type { GetOperationRequest__Input as _drydock_admin_v1_GetOperationRequest__Input, GetOperationRequest as _drydock_admin_v1_GetOperationRequest } from './drydock/admin/v1/GetOperationRequest';
import type { GetZoneCpuRequest__Input as _drydock_admin_v1_GetZoneCpuRequest__Input, GetZoneCpuRequest as _drydock_admin_v1_GetZoneCpuRequest } from './drydock/admin/v1/GetZoneCpuRequest';
import type { GetZoneRequest__Input as _drydock_admin_v1_GetZoneRequest__Input, GetZoneRequest as _drydock_admin_v1_GetZoneRequest } from './drydock/admin/v1/GetZoneRequest';
import type { Host__Input as _drydock_admin_v1_Host__Input, Host as _drydock_admin_v1_Host } from './drydock/admin/v1/Host';
import type { HostCpuView__Input as _drydock_admin_v1_HostCpuView__Input, HostCpuView as _drydock_admin_v1_HostCpuView } from './drydock/admin/v1/HostCpuView';
import type { HostStoragePool__Input as _drydock_admin_v1_HostStoragePool__Input, HostStoragePool as _drydock_admin_v1_HostStoragePool } from './drydock/admin/v1/HostStoragePool';
import type { ListHostsRequest__Input as _drydock_admin_v1_ListHostsRequest__Input, ListHostsRequest as _drydock_admin_v1_ListHostsRequest } from './drydock/admin/v1/ListHostsRequest';
import type { ListHostsResponse__Input as _drydock_admin_v1_ListHostsResponse__Input, ListHostsResponse as _drydock_admin_v1_ListHostsResponse } from './drydock/admin/v1/ListHostsResponse';
import type { ListOperationsRequest__Input as _drydock_admin_v1_ListOperationsRequest__Input, ListOperationsRequest as _drydock_admin_v1_ListOperationsRequest } from './drydock/admin/v1/ListOperationsRequest';
import type { ListOperationsResponse__Input as _drydock_admin_v1_ListOperationsResponse__Input, ListOperationsResponse as _drydock_admin_v1_ListOperationsResponse } from './drydock/admin/v1/ListOperationsResponse';
import type { ListServersRequest__Input as _drydock_admin_v1_ListServersRequest__Input, ListServersRequest as _drydock_admin_v1_ListServersRequest } from './drydock/admin/v1/ListServersRequest';
import type { ListServersResponse__Input as _drydock_admin_v1_ListServersResponse__Input, ListServersResponse as _drydock_admin_v1_ListServersResponse } from './drydock/admin/v1/ListServersResponse';
import type { ListZonesRequest__Input as _drydock_admin_v1_ListZonesRequest__Input, ListZonesRequest as _drydock_admin_v1_ListZonesRequest } from './drydock/admin/v1/ListZonesRequest';
import type { ListZonesResponse__Input as _drydock_admin_v1_ListZonesResponse__Input, ListZonesResponse as _drydock_admin_v1_ListZonesResponse } from './drydock/admin/v1/ListZonesResponse';
import type { MovedServer__Input as _drydock_admin_v1_MovedServer__Input, MovedServer as _drydock_admin_v1_MovedServer } from './drydock/admin/v1/MovedServer';
import type { Operation__Input as _drydock_admin_v1_Operation__Input, Operation as _drydock_admin_v1_Operation } from './drydock/admin/v1/Operation';
import type { OperationEvent__Input as _drydock_admin_v1_OperationEvent__Input, OperationEvent as _drydock_admin_v1_OperationEvent } from './drydock/admin/v1/OperationEvent';
import type { Plan__Input as _drydock_admin_v1_Plan__Input, Plan as _drydock_admin_v1_Plan } from './drydock/admin/v1/Plan';
import type { PlanMaintenanceRequest__Input as _drydock_admin_v1_PlanMaintenanceRequest__Input, PlanMaintenanceRequest as _drydock_admin_v1_PlanMaintenanceRequest } from './drydock/admin/v1/PlanMaintenanceRequest';
import type { PlannedServer__Input as _drydock_admin_v1_PlannedServer__Input, PlannedServer as _drydock_admin_v1_PlannedServer } from './drydock/admin/v1/PlannedServer';
import type { RecomputeZoneCpuRequest__Input as _drydock_admin_v1_RecomputeZoneCpuRequest__Input, RecomputeZoneCpuRequest as _drydock_admin_v1_RecomputeZoneCpuRequest } from './drydock/admin/v1/RecomputeZoneCpuRequest';
import type { ReturnServersRequest__Input as _drydock_admin_v1_ReturnServersRequest__Input, ReturnServersRequest as _drydock_admin_v1_ReturnServersRequest } from './drydock/admin/v1/ReturnServersRequest';
import type { Server__Input as _drydock_admin_v1_Server__Input, Server as _drydock_admin_v1_Server } from './drydock/admin/v1/Server';
import type { ServerDisk__Input as _drydock_admin_v1_ServerDisk__Input, ServerDisk as _drydock_admin_v1_ServerDisk } from './drydock/admin/v1/ServerDisk';
import type { ServerStep__Input as _drydock_admin_v1_ServerStep__Input, ServerStep as _drydock_admin_v1_ServerStep } from './drydock/admin/v1/ServerStep';
import type { UpdateHostRequest__Input as _drydock_admin_v1_UpdateHostRequest__Input, UpdateHostRequest as _drydock_admin_v1_UpdateHostRequest } from './drydock/admin/v1/UpdateHostRequest';
import type { UpdateServerRequest__Input as _drydock_admin_v1_UpdateServerRequest__Input, UpdateServerRequest as _drydock_admin_v1_UpdateServerRequest } from './drydock/admin/v1/UpdateServerRequest';
import type { UpdateZoneRequest__Input as _drydock_admin_v1_UpdateZoneRequest__Input, UpdateZoneRequest as _drydock_admin_v1_UpdateZoneRequest } from './drydock/admin/v1/UpdateZoneRequest';
import type { WatchOperationRequest__Input as _drydock_admin_v1_WatchOperationRequest__Input, WatchOperationRequest as _drydock_admin_v1_WatchOperationRequest } from './drydock/admin/v1/WatchOperationRequest';
import type { Zone__Input as _drydock_admin_v1_Zone__Input, Zone as _drydock_admin_v1_Zone } from './drydock/admin/v1/Zone';
import type { ZoneCpu__Input as _drydock_admin_v1_ZoneCpu__Input, ZoneCpu as _drydock_admin_v1_ZoneCpu } from './drydock/admin/v1/ZoneCpu';
import type { ZoneCpuChange__Input as _drydock_admin_v1_ZoneCpuChange__Input, ZoneCpuChange as _drydock_admin_v1_ZoneCpuChange } from './drydock/admin/v1/ZoneCpuChange';
import type { ZonePolicy__Input as _drydock_admin_v1_ZonePolicy__Input, ZonePolicy as _drydock_admin_v1_ZonePolicy } from './drydock/admin/v1/ZonePolicy';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  drydock: {
    admin: {
      v1: {
        Admin: SubtypeConstructor<typeof grpc.Client, _drydock_admin_v1_AdminClient> & { service: _drydock_admin_v1_AdminDefinition }
        CancelOperationRequest: MessageTypeDefinition<_drydock_admin_v1_CancelOperationRequest__Input, _drydock_admin_v1_CancelOperationRequest>
        CandidateVerdict: MessageTypeDefinition<_drydock_admin_v1_CandidateVerdict__Input, _drydock_admin_v1_CandidateVerdict>
        CheckResult: MessageTypeDefinition<_drydock_admin_v1_CheckResult__Input, _drydock_admin_v1_CheckResult>
        CpuMode: EnumTypeDefinition
        CreateZoneRequest: MessageTypeDefinition<_drydock_admin_v1_CreateZoneRequest__Input, _drydock_admin_v1_CreateZoneRequest>
        DisableMaintenanceRequest: MessageTypeDefinition<_drydock_admin_v1_DisableMaintenanceRequest__Input, _drydock_admin_v1_DisableMaintenanceRequest>
        EnableMaintenanceRequest: MessageTypeDefinition<_drydock_admin_v1_EnableMaintenanceRequest__Input, _drydock_admin_v1_EnableMaintenanceRequest>
        GetHostRequest: MessageTypeDefinition<_drydock_admin_v1_GetHostRequest__Input, _drydock_admin_v1_GetHostRequest>
        GetOperationRequest: MessageTypeDefinition<_drydock_admin_v1_GetOperationRequest__Input, _drydock_admin_v1_GetOperationRequest>
        GetZoneCpuRequest: MessageTypeDefinition<_drydock_admin_v1_GetZoneCpuRequest__Input, _drydock_admin_v1_GetZoneCpuRequest>
        GetZoneRequest: MessageTypeDefinition<_drydock_admin_v1_GetZoneRequest__Input, _drydock_admin_v1_GetZoneRequest>
        Host: MessageTypeDefinition<_drydock_admin_v1_Host__Input, _drydock_admin_v1_Host>
        HostCpuView: MessageTypeDefinition<_drydock_admin_v1_HostCpuView__Input, _drydock_admin_v1_HostCpuView>
        HostStoragePool: MessageTypeDefinition<_drydock_admin_v1_HostStoragePool__Input, _drydock_admin_v1_HostStoragePool>
        ListHostsRequest: MessageTypeDefinition<_drydock_admin_v1_ListHostsRequest__Input, _drydock_admin_v1_ListHostsRequest>
        ListHostsResponse: MessageTypeDefinition<_drydock_admin_v1_ListHostsResponse__Input, _drydock_admin_v1_ListHostsResponse>
        ListOperationsRequest: MessageTypeDefinition<_drydock_admin_v1_ListOperationsRequest__Input, _drydock_admin_v1_ListOperationsRequest>
        ListOperationsResponse: MessageTypeDefinition<_drydock_admin_v1_ListOperationsResponse__Input, _drydock_admin_v1_ListOperationsResponse>
        ListServersRequest: MessageTypeDefinition<_drydock_admin_v1_ListServersRequest__Input, _drydock_admin_v1_ListServersRequest>
        ListServersResponse: MessageTypeDefinition<_drydock_admin_v1_ListServersResponse__Input, _drydock_admin_v1_ListServersResponse>
        ListZonesRequest: MessageTypeDefinition<_drydock_admin_v1_ListZonesRequest__Input, _drydock_admin_v1_ListZonesRequest>
        ListZonesResponse: MessageTypeDefinition<_drydock_admin_v1_ListZonesResponse__Input, _drydock_admin_v1_ListZonesResponse>
        MaintenanceState: EnumTypeDefinition
        MovedServer: MessageTypeDefinition<_drydock_admin_v1_MovedServer__Input, _drydock_admin_v1_MovedServer>
        Operation: MessageTypeDefinition<_drydock_admin_v1_Operation__Input, _drydock_admin_v1_Operation>
        OperationEvent: MessageTypeDefinition<_drydock_admin_v1_OperationEvent__Input, _drydock_admin_v1_OperationEvent>
        OperationKind: EnumTypeDefinition
        OperationState: EnumTypeDefinition
        PlacementPolicy: EnumTypeDefinition
        Plan: MessageTypeDefinition<_drydock_admin_v1_Plan__Input, _drydock_admin_v1_Plan>
        PlanMaintenanceRequest: MessageTypeDefinition<_drydock_admin_v1_PlanMaintenanceRequest__Input, _drydock_admin_v1_PlanMaintenanceRequest>
        PlannedServer: MessageTypeDefinition<_drydock_admin_v1_PlannedServer__Input, _drydock_admin_v1_PlannedServer>
        RecomputeZoneCpuRequest: MessageTypeDefinition<_drydock_admin_v1_RecomputeZoneCpuRequest__Input, _drydock_admin_v1_RecomputeZoneCpuRequest>
        ReturnServersRequest: MessageTypeDefinition<_drydock_admin_v1_ReturnServersRequest__Input, _drydock_admin_v1_ReturnServersRequest>
        Server: MessageTypeDefinition<_drydock_admin_v1_Server__Input, _drydock_admin_v1_Server>
        ServerAction: EnumTypeDefinition
        ServerDisk: MessageTypeDefinition<_drydock_admin_v1_ServerDisk__Input, _drydock_admin_v1_ServerDisk>
        ServerStep: MessageTypeDefinition<_drydock_admin_v1_ServerStep__Input, _drydock_admin_v1_ServerStep>
        StepGuestHealth: EnumTypeDefinition
        StepPhase: EnumTypeDefinition
        UpdateHostRequest: MessageTypeDefinition<_drydock_admin_v1_UpdateHostRequest__Input, _drydock_admin_v1_UpdateHostRequest>
        UpdateServerRequest: MessageTypeDefinition<_drydock_admin_v1_UpdateServerRequest__Input, _drydock_admin_v1_UpdateServerRequest>
        UpdateZoneRequest: MessageTypeDefinition<_drydock_admin_v1_UpdateZoneRequest__Input, _drydock_admin_v1_UpdateZoneRequest>
        WatchOperationRequest: MessageTypeDefinition<_drydock_admin_v1_WatchOperationRequest__Input, _drydock_admin_v1_WatchOperationRequest>
        Zone: MessageTypeDefinition<_drydock_admin_v1_Zone__Input, _drydock_admin_v1_Zone>
        ZoneCpu: MessageTypeDefinition<_drydock_admin_v1_ZoneCpu__Input, _drydock_admin_v1_ZoneCpu>
        ZoneCpuChange: MessageTypeDefinition<_drydock_admin_v1_ZoneCpuChange__Input, _drydock_admin_v1_ZoneCpuChange>
        ZonePolicy: MessageTypeDefinition<_drydock_admin_v1_ZonePolicy__Input, _drydock_admin_v1_ZonePolicy>
      }
    }
  }
}

