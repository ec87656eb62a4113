import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AbortMigrationRequest__Input as _drydock_agent_v1_AbortMigrationRequest__Input, AbortMigrationRequest as _drydock_agent_v1_AbortMigrationRequest } from './drydock/agent/v1/AbortMigrationRequest';
import type { AgentClient as _drydock_agent_v1_AgentClient, AgentDefinition as _drydock_agent_v1_AgentDefinition } from './drydock/agent/v1/Agent';
import type { BaselineCpuRequest__Input as _drydock_agent_v1_BaselineCpuRequest__Input, BaselineCpuRequest as _drydock_agent_v1_BaselineCpuRequest } from './drydock/agent/v1/BaselineCpuRequest';
import type { BaselineCpuResponse__Input as _drydock_agent_v1_BaselineCpuResponse__Input, BaselineCpuResponse as _drydock_agent_v1_BaselineCpuResponse } from './drydock/agent/v1/BaselineCpuResponse';
import type { CompareCpuRequest__Input as _drydock_agent_v1_CompareCpuRequest__Input, CompareCpuRequest as _drydock_agent_v1_CompareCpuRequest } from './drydock/agent/v1/CompareCpuRequest';
import type { CompareCpuResponse__Input as _drydock_agent_v1_CompareCpuResponse__Input, CompareCpuResponse as _drydock_agent_v1_CompareCpuResponse } from './drydock/agent/v1/CompareCpuResponse';
import type { CpuDescription__Input as _drydock_agent_v1_CpuDescription__Input, CpuDescription as _drydock_agent_v1_CpuDescription } from './drydock/agent/v1/CpuDescription';
import type { CpuTopology__Input as _drydock_agent_v1_CpuTopology__Input, CpuTopology as _drydock_agent_v1_CpuTopology } from './drydock/agent/v1/CpuTopology';
import type { Disk__Input as _drydock_agent_v1_Disk__Input, Disk as _drydock_agent_v1_Disk } from './drydock/agent/v1/Disk';
import type { ErrorInfo__Input as _drydock_agent_v1_ErrorInfo__Input, ErrorInfo as _drydock_agent_v1_ErrorInfo } from './drydock/agent/v1/ErrorInfo';
import type { GetHostFactsRequest__Input as _drydock_agent_v1_GetHostFactsRequest__Input, GetHostFactsRequest as _drydock_agent_v1_GetHostFactsRequest } from './drydock/agent/v1/GetHostFactsRequest';
import type { GetMigrationRequest__Input as _drydock_agent_v1_GetMigrationRequest__Input, GetMigrationRequest as _drydock_agent_v1_GetMigrationRequest } from './drydock/agent/v1/GetMigrationRequest';
import type { GuestCpu__Input as _drydock_agent_v1_GuestCpu__Input, GuestCpu as _drydock_agent_v1_GuestCpu } from './drydock/agent/v1/GuestCpu';
import type { HostFacts__Input as _drydock_agent_v1_HostFacts__Input, HostFacts as _drydock_agent_v1_HostFacts } from './drydock/agent/v1/HostFacts';
import type { ListServersRequest__Input as _drydock_agent_v1_ListServersRequest__Input, ListServersRequest as _drydock_agent_v1_ListServersRequest } from './drydock/agent/v1/ListServersRequest';
import type { ListServersResponse__Input as _drydock_agent_v1_ListServersResponse__Input, ListServersResponse as _drydock_agent_v1_ListServersResponse } from './drydock/agent/v1/ListServersResponse';
import type { MigrateServerRequest__Input as _drydock_agent_v1_MigrateServerRequest__Input, MigrateServerRequest as _drydock_agent_v1_MigrateServerRequest } from './drydock/agent/v1/MigrateServerRequest';
import type { Migration__Input as _drydock_agent_v1_Migration__Input, Migration as _drydock_agent_v1_Migration } from './drydock/agent/v1/Migration';
import type { MigrationEvent__Input as _drydock_agent_v1_MigrationEvent__Input, MigrationEvent as _drydock_agent_v1_MigrationEvent } from './drydock/agent/v1/MigrationEvent';
import type { RebootHostRequest__Input as _drydock_agent_v1_RebootHostRequest__Input, RebootHostRequest as _drydock_agent_v1_RebootHostRequest } from './drydock/agent/v1/RebootHostRequest';
import type { RebootHostResponse__Input as _drydock_agent_v1_RebootHostResponse__Input, RebootHostResponse as _drydock_agent_v1_RebootHostResponse } from './drydock/agent/v1/RebootHostResponse';
import type { Server__Input as _drydock_agent_v1_Server__Input, Server as _drydock_agent_v1_Server } from './drydock/agent/v1/Server';
import type { ServerActionResponse__Input as _drydock_agent_v1_ServerActionResponse__Input, ServerActionResponse as _drydock_agent_v1_ServerActionResponse } from './drydock/agent/v1/ServerActionResponse';
import type { StartServerRequest__Input as _drydock_agent_v1_StartServerRequest__Input, StartServerRequest as _drydock_agent_v1_StartServerRequest } from './drydock/agent/v1/StartServerRequest';
import type { StopServerRequest__Input as _drydock_agent_v1_StopServerRequest__Input, StopServerRequest as _drydock_agent_v1_StopServerRequest } from './drydock/agent/v1/StopServerRequest';
import type { StoragePool__Input as _drydock_agent_v1_StoragePool__Input, StoragePool as _drydock_agent_v1_StoragePool } from './drydock/agent/v1/StoragePool';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  drydock: {
    agent: {
      v1: {
        AbortMigrationRequest: MessageTypeDefinition<_drydock_agent_v1_AbortMigrationRequest__Input, _drydock_agent_v1_AbortMigrationRequest>
        Agent: SubtypeConstructor<typeof grpc.Client, _drydock_agent_v1_AgentClient> & { service: _drydock_agent_v1_AgentDefinition }
        BaselineCpuRequest: MessageTypeDefinition<_drydock_agent_v1_BaselineCpuRequest__Input, _drydock_agent_v1_BaselineCpuRequest>
        BaselineCpuResponse: MessageTypeDefinition<_drydock_agent_v1_BaselineCpuResponse__Input, _drydock_agent_v1_BaselineCpuResponse>
        CompareCpuRequest: MessageTypeDefinition<_drydock_agent_v1_CompareCpuRequest__Input, _drydock_agent_v1_CompareCpuRequest>
        CompareCpuResponse: MessageTypeDefinition<_drydock_agent_v1_CompareCpuResponse__Input, _drydock_agent_v1_CompareCpuResponse>
        CpuCompareResult: EnumTypeDefinition
        CpuDescription: MessageTypeDefinition<_drydock_agent_v1_CpuDescription__Input, _drydock_agent_v1_CpuDescription>
        CpuTopology: MessageTypeDefinition<_drydock_agent_v1_CpuTopology__Input, _drydock_agent_v1_CpuTopology>
        Disk: MessageTypeDefinition<_drydock_agent_v1_Disk__Input, _drydock_agent_v1_Disk>
        ErrorInfo: MessageTypeDefinition<_drydock_agent_v1_ErrorInfo__Input, _drydock_agent_v1_ErrorInfo>
        GetHostFactsRequest: MessageTypeDefinition<_drydock_agent_v1_GetHostFactsRequest__Input, _drydock_agent_v1_GetHostFactsRequest>
        GetMigrationRequest: MessageTypeDefinition<_drydock_agent_v1_GetMigrationRequest__Input, _drydock_agent_v1_GetMigrationRequest>
        GuestCpu: MessageTypeDefinition<_drydock_agent_v1_GuestCpu__Input, _drydock_agent_v1_GuestCpu>
        GuestHealth: EnumTypeDefinition
        HostFacts: MessageTypeDefinition<_drydock_agent_v1_HostFacts__Input, _drydock_agent_v1_HostFacts>
        ListServersRequest: MessageTypeDefinition<_drydock_agent_v1_ListServersRequest__Input, _drydock_agent_v1_ListServersRequest>
        ListServersResponse: MessageTypeDefinition<_drydock_agent_v1_ListServersResponse__Input, _drydock_agent_v1_ListServersResponse>
        MigrateServerRequest: MessageTypeDefinition<_drydock_agent_v1_MigrateServerRequest__Input, _drydock_agent_v1_MigrateServerRequest>
        Migration: MessageTypeDefinition<_drydock_agent_v1_Migration__Input, _drydock_agent_v1_Migration>
        MigrationEvent: MessageTypeDefinition<_drydock_agent_v1_MigrationEvent__Input, _drydock_agent_v1_MigrationEvent>
        MigrationMode: EnumTypeDefinition
        MigrationPhase: EnumTypeDefinition
        RebootHostRequest: MessageTypeDefinition<_drydock_agent_v1_RebootHostRequest__Input, _drydock_agent_v1_RebootHostRequest>
        RebootHostResponse: MessageTypeDefinition<_drydock_agent_v1_RebootHostResponse__Input, _drydock_agent_v1_RebootHostResponse>
        Server: MessageTypeDefinition<_drydock_agent_v1_Server__Input, _drydock_agent_v1_Server>
        ServerActionResponse: MessageTypeDefinition<_drydock_agent_v1_ServerActionResponse__Input, _drydock_agent_v1_ServerActionResponse>
        ServerState: EnumTypeDefinition
        StartServerRequest: MessageTypeDefinition<_drydock_agent_v1_StartServerRequest__Input, _drydock_agent_v1_StartServerRequest>
        StopServerRequest: MessageTypeDefinition<_drydock_agent_v1_StopServerRequest__Input, _drydock_agent_v1_StopServerRequest>
        StoragePool: MessageTypeDefinition<_drydock_agent_v1_StoragePool__Input, _drydock_agent_v1_StoragePool>
      }
    }
  }
}

