// Original file: proto/drydock/agent/v1/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AbortMigrationRequest__Input as _drydock_agent_v1_AbortMigrationRequest__Input, AbortMigrationRequest as _drydock_agent_v1_AbortMigrationRequest } from '../../../drydock/agent/v1/AbortMigrationRequest';
import type { BaselineCpuRequest__Input as _drydock_agent_v1_BaselineCpuRequest__Input, BaselineCpuRequest as _drydock_agent_v1_BaselineCpuRequest } from '../../../drydock/agent/v1/BaselineCpuRequest';
import type { BaselineCpuResponse__Input as _drydock_agent_v1_BaselineCpuResponse__Input, BaselineCpuResponse as _drydock_agent_v1_BaselineCpuResponse } from '../../../drydock/agent/v1/BaselineCpuResponse';
import type { CompareCpuRequest__Input as _drydock_agent_v1_CompareCpuRequest__Input, CompareCpuRequest as _drydock_agent_v1_CompareCpuRequest } from '../../../drydock/agent/v1/CompareCpuRequest';
import type { CompareCpuResponse__Input as _drydock_agent_v1_CompareCpuResponse__Input, CompareCpuResponse as _drydock_agent_v1_CompareCpuResponse } from '../../../drydock/agent/v1/CompareCpuResponse';
import type { GetHostFactsRequest__Input as _drydock_agent_v1_GetHostFactsRequest__Input, GetHostFactsRequest as _drydock_agent_v1_GetHostFactsRequest } from '../../../drydock/agent/v1/GetHostFactsRequest';
import type { GetMigrationRequest__Input as _drydock_agent_v1_GetMigrationRequest__Input, GetMigrationRequest as _drydock_agent_v1_GetMigrationRequest } from '../../../drydock/agent/v1/GetMigrationRequest';
import type { HostFacts__Input as _drydock_agent_v1_HostFacts__Input, HostFacts as _drydock_agent_v1_HostFacts } from '../../../drydock/agent/v1/HostFacts';
import type { ListServersRequest__Input as _drydock_agent_v1_ListServersRequest__Input, ListServersRequest as _drydock_agent_v1_ListServersRequest } from '../../../drydock/agent/v1/ListServersRequest';
import type { ListServersResponse__Input as _drydock_agent_v1_ListServersResponse__Input, ListServersResponse as _drydock_agent_v1_ListServersResponse } from '../../../drydock/agent/v1/ListServersResponse';
import type { MigrateServerRequest__Input as _drydock_agent_v1_MigrateServerRequest__Input, MigrateServerRequest as _drydock_agent_v1_MigrateServerRequest } from '../../../drydock/agent/v1/MigrateServerRequest';
import type { Migration__Input as _drydock_agent_v1_Migration__Input, Migration as _drydock_agent_v1_Migration } from '../../../drydock/agent/v1/Migration';
import type { MigrationEvent__Input as _drydock_agent_v1_MigrationEvent__Input, MigrationEvent as _drydock_agent_v1_MigrationEvent } from '../../../drydock/agent/v1/MigrationEvent';
import type { RebootHostRequest__Input as _drydock_agent_v1_RebootHostRequest__Input, RebootHostRequest as _drydock_agent_v1_RebootHostRequest } from '../../../drydock/agent/v1/RebootHostRequest';
import type { RebootHostResponse__Input as _drydock_agent_v1_RebootHostResponse__Input, RebootHostResponse as _drydock_agent_v1_RebootHostResponse } from '../../../drydock/agent/v1/RebootHostResponse';
import type { ServerActionResponse__Input as _drydock_agent_v1_ServerActionResponse__Input, ServerActionResponse as _drydock_agent_v1_ServerActionResponse } from '../../../drydock/agent/v1/ServerActionResponse';
import type { StartServerRequest__Input as _drydock_agent_v1_StartServerRequest__Input, StartServerRequest as _drydock_agent_v1_StartServerRequest } from '../../../drydock/agent/v1/StartServerRequest';
import type { StopServerRequest__Input as _drydock_agent_v1_StopServerRequest__Input, StopServerRequest as _drydock_agent_v1_StopServerRequest } from '../../../drydock/agent/v1/StopServerRequest';

export interface AgentClient extends grpc.Client {
  AbortMigration(argument: _drydock_agent_v1_AbortMigrationRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  AbortMigration(argument: _drydock_agent_v1_AbortMigrationRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  AbortMigration(argument: _drydock_agent_v1_AbortMigrationRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  AbortMigration(argument: _drydock_agent_v1_AbortMigrationRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  abortMigration(argument: _drydock_agent_v1_AbortMigrationRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  abortMigration(argument: _drydock_agent_v1_AbortMigrationRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  abortMigration(argument: _drydock_agent_v1_AbortMigrationRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  abortMigration(argument: _drydock_agent_v1_AbortMigrationRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  
  BaselineCpu(argument: _drydock_agent_v1_BaselineCpuRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_BaselineCpuResponse>): grpc.ClientUnaryCall;
  BaselineCpu(argument: _drydock_agent_v1_BaselineCpuRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_BaselineCpuResponse>): grpc.ClientUnaryCall;
  BaselineCpu(argument: _drydock_agent_v1_BaselineCpuRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_BaselineCpuResponse>): grpc.ClientUnaryCall;
  BaselineCpu(argument: _drydock_agent_v1_BaselineCpuRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_BaselineCpuResponse>): grpc.ClientUnaryCall;
  baselineCpu(argument: _drydock_agent_v1_BaselineCpuRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_BaselineCpuResponse>): grpc.ClientUnaryCall;
  baselineCpu(argument: _drydock_agent_v1_BaselineCpuRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_BaselineCpuResponse>): grpc.ClientUnaryCall;
  baselineCpu(argument: _drydock_agent_v1_BaselineCpuRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_BaselineCpuResponse>): grpc.ClientUnaryCall;
  baselineCpu(argument: _drydock_agent_v1_BaselineCpuRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_BaselineCpuResponse>): grpc.ClientUnaryCall;
  
  CompareCpu(argument: _drydock_agent_v1_CompareCpuRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_CompareCpuResponse>): grpc.ClientUnaryCall;
  CompareCpu(argument: _drydock_agent_v1_CompareCpuRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_CompareCpuResponse>): grpc.ClientUnaryCall;
  CompareCpu(argument: _drydock_agent_v1_CompareCpuRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_CompareCpuResponse>): grpc.ClientUnaryCall;
  CompareCpu(argument: _drydock_agent_v1_CompareCpuRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_CompareCpuResponse>): grpc.ClientUnaryCall;
  compareCpu(argument: _drydock_agent_v1_CompareCpuRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_CompareCpuResponse>): grpc.ClientUnaryCall;
  compareCpu(argument: _drydock_agent_v1_CompareCpuRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_CompareCpuResponse>): grpc.ClientUnaryCall;
  compareCpu(argument: _drydock_agent_v1_CompareCpuRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_CompareCpuResponse>): grpc.ClientUnaryCall;
  compareCpu(argument: _drydock_agent_v1_CompareCpuRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_CompareCpuResponse>): grpc.ClientUnaryCall;
  
  GetHostFacts(argument: _drydock_agent_v1_GetHostFactsRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_HostFacts>): grpc.ClientUnaryCall;
  GetHostFacts(argument: _drydock_agent_v1_GetHostFactsRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_HostFacts>): grpc.ClientUnaryCall;
  GetHostFacts(argument: _drydock_agent_v1_GetHostFactsRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_HostFacts>): grpc.ClientUnaryCall;
  GetHostFacts(argument: _drydock_agent_v1_GetHostFactsRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_HostFacts>): grpc.ClientUnaryCall;
  getHostFacts(argument: _drydock_agent_v1_GetHostFactsRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_HostFacts>): grpc.ClientUnaryCall;
  getHostFacts(argument: _drydock_agent_v1_GetHostFactsRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_HostFacts>): grpc.ClientUnaryCall;
  getHostFacts(argument: _drydock_agent_v1_GetHostFactsRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_HostFacts>): grpc.ClientUnaryCall;
  getHostFacts(argument: _drydock_agent_v1_GetHostFactsRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_HostFacts>): grpc.ClientUnaryCall;
  
  GetMigration(argument: _drydock_agent_v1_GetMigrationRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  GetMigration(argument: _drydock_agent_v1_GetMigrationRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  GetMigration(argument: _drydock_agent_v1_GetMigrationRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  GetMigration(argument: _drydock_agent_v1_GetMigrationRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  getMigration(argument: _drydock_agent_v1_GetMigrationRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  getMigration(argument: _drydock_agent_v1_GetMigrationRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  getMigration(argument: _drydock_agent_v1_GetMigrationRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  getMigration(argument: _drydock_agent_v1_GetMigrationRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_Migration>): grpc.ClientUnaryCall;
  
  ListServers(argument: _drydock_agent_v1_ListServersRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ListServersResponse>): grpc.ClientUnaryCall;
  ListServers(argument: _drydock_agent_v1_ListServersRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_ListServersResponse>): grpc.ClientUnaryCall;
  ListServers(argument: _drydock_agent_v1_ListServersRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ListServersResponse>): grpc.ClientUnaryCall;
  ListServers(argument: _drydock_agent_v1_ListServersRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_ListServersResponse>): grpc.ClientUnaryCall;
  listServers(argument: _drydock_agent_v1_ListServersRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ListServersResponse>): grpc.ClientUnaryCall;
  listServers(argument: _drydock_agent_v1_ListServersRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_ListServersResponse>): grpc.ClientUnaryCall;
  listServers(argument: _drydock_agent_v1_ListServersRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ListServersResponse>): grpc.ClientUnaryCall;
  listServers(argument: _drydock_agent_v1_ListServersRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_ListServersResponse>): grpc.ClientUnaryCall;
  
  MigrateServer(argument: _drydock_agent_v1_MigrateServerRequest__Input, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_drydock_agent_v1_MigrationEvent>;
  MigrateServer(argument: _drydock_agent_v1_MigrateServerRequest__Input, options?: grpc.CallOptions): grpc.ClientReadableStream<_drydock_agent_v1_MigrationEvent>;
  migrateServer(argument: _drydock_agent_v1_MigrateServerRequest__Input, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_drydock_agent_v1_MigrationEvent>;
  migrateServer(argument: _drydock_agent_v1_MigrateServerRequest__Input, options?: grpc.CallOptions): grpc.ClientReadableStream<_drydock_agent_v1_MigrationEvent>;
  
  RebootHost(argument: _drydock_agent_v1_RebootHostRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_RebootHostResponse>): grpc.ClientUnaryCall;
  RebootHost(argument: _drydock_agent_v1_RebootHostRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_RebootHostResponse>): grpc.ClientUnaryCall;
  RebootHost(argument: _drydock_agent_v1_RebootHostRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_RebootHostResponse>): grpc.ClientUnaryCall;
  RebootHost(argument: _drydock_agent_v1_RebootHostRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_RebootHostResponse>): grpc.ClientUnaryCall;
  rebootHost(argument: _drydock_agent_v1_RebootHostRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_RebootHostResponse>): grpc.ClientUnaryCall;
  rebootHost(argument: _drydock_agent_v1_RebootHostRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_RebootHostResponse>): grpc.ClientUnaryCall;
  rebootHost(argument: _drydock_agent_v1_RebootHostRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_RebootHostResponse>): grpc.ClientUnaryCall;
  rebootHost(argument: _drydock_agent_v1_RebootHostRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_RebootHostResponse>): grpc.ClientUnaryCall;
  
  StartServer(argument: _drydock_agent_v1_StartServerRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  StartServer(argument: _drydock_agent_v1_StartServerRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  StartServer(argument: _drydock_agent_v1_StartServerRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  StartServer(argument: _drydock_agent_v1_StartServerRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  startServer(argument: _drydock_agent_v1_StartServerRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  startServer(argument: _drydock_agent_v1_StartServerRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  startServer(argument: _drydock_agent_v1_StartServerRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  startServer(argument: _drydock_agent_v1_StartServerRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  
  StopServer(argument: _drydock_agent_v1_StopServerRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  StopServer(argument: _drydock_agent_v1_StopServerRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  StopServer(argument: _drydock_agent_v1_StopServerRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  StopServer(argument: _drydock_agent_v1_StopServerRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  stopServer(argument: _drydock_agent_v1_StopServerRequest__Input, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  stopServer(argument: _drydock_agent_v1_StopServerRequest__Input, metadata: grpc.Metadata, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  stopServer(argument: _drydock_agent_v1_StopServerRequest__Input, options: grpc.CallOptions, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  stopServer(argument: _drydock_agent_v1_StopServerRequest__Input, callback: grpc.requestCallback<_drydock_agent_v1_ServerActionResponse>): grpc.ClientUnaryCall;
  
}

export interface AgentHandlers extends grpc.UntypedServiceImplementation {
  AbortMigration: grpc.handleUnaryCall<_drydock_agent_v1_AbortMigrationRequest, _drydock_agent_v1_Migration__Input>;
  
  BaselineCpu: grpc.handleUnaryCall<_drydock_agent_v1_BaselineCpuRequest, _drydock_agent_v1_BaselineCpuResponse__Input>;
  
  CompareCpu: grpc.handleUnaryCall<_drydock_agent_v1_CompareCpuRequest, _drydock_agent_v1_CompareCpuResponse__Input>;
  
  GetHostFacts: grpc.handleUnaryCall<_drydock_agent_v1_GetHostFactsRequest, _drydock_agent_v1_HostFacts__Input>;
  
  GetMigration: grpc.handleUnaryCall<_drydock_agent_v1_GetMigrationRequest, _drydock_agent_v1_Migration__Input>;
  
  ListServers: grpc.handleUnaryCall<_drydock_agent_v1_ListServersRequest, _drydock_agent_v1_ListServersResponse__Input>;
  
  MigrateServer: grpc.handleServerStreamingCall<_drydock_agent_v1_MigrateServerRequest, _drydock_agent_v1_MigrationEvent__Input>;
  
  RebootHost: grpc.handleUnaryCall<_drydock_agent_v1_RebootHostRequest, _drydock_agent_v1_RebootHostResponse__Input>;
  
  StartServer: grpc.handleUnaryCall<_drydock_agent_v1_StartServerRequest, _drydock_agent_v1_ServerActionResponse__Input>;
  
  StopServer: grpc.handleUnaryCall<_drydock_agent_v1_StopServerRequest, _drydock_agent_v1_ServerActionResponse__Input>;
  
}

export interface AgentDefinition extends grpc.ServiceDefinition {
  AbortMigration: MethodDefinition<_drydock_agent_v1_AbortMigrationRequest__Input, _drydock_agent_v1_Migration__Input, _drydock_agent_v1_AbortMigrationRequest, _drydock_agent_v1_Migration>
  BaselineCpu: MethodDefinition<_drydock_agent_v1_BaselineCpuRequest__Input, _drydock_agent_v1_BaselineCpuResponse__Input, _drydock_agent_v1_BaselineCpuRequest, _drydock_agent_v1_BaselineCpuResponse>
  CompareCpu: MethodDefinition<_drydock_agent_v1_CompareCpuRequest__Input, _drydock_agent_v1_CompareCpuResponse__Input, _drydock_agent_v1_CompareCpuRequest, _drydock_agent_v1_CompareCpuResponse>
  GetHostFacts: MethodDefinition<_drydock_agent_v1_GetHostFactsRequest__Input, _drydock_agent_v1_HostFacts__Input, _drydock_agent_v1_GetHostFactsRequest, _drydock_agent_v1_HostFacts>
  GetMigration: MethodDefinition<_drydock_agent_v1_GetMigrationRequest__Input, _drydock_agent_v1_Migration__Input, _drydock_agent_v1_GetMigrationRequest, _drydock_agent_v1_Migration>
  ListServers: MethodDefinition<_drydock_agent_v1_ListServersRequest__Input, _drydock_agent_v1_ListServersResponse__Input, _drydock_agent_v1_ListServersRequest, _drydock_agent_v1_ListServersResponse>
  MigrateServer: MethodDefinition<_drydock_agent_v1_MigrateServerRequest__Input, _drydock_agent_v1_MigrationEvent__Input, _drydock_agent_v1_MigrateServerRequest, _drydock_agent_v1_MigrationEvent>
  RebootHost: MethodDefinition<_drydock_agent_v1_RebootHostRequest__Input, _drydock_agent_v1_RebootHostResponse__Input, _drydock_agent_v1_RebootHostRequest, _drydock_agent_v1_RebootHostResponse>
  StartServer: MethodDefinition<_drydock_agent_v1_StartServerRequest__Input, _drydock_agent_v1_ServerActionResponse__Input, _drydock_agent_v1_StartServerRequest, _drydock_agent_v1_ServerActionResponse>
  StopServer: MethodDefinition<_drydock_agent_v1_StopServerRequest__Input, _drydock_agent_v1_ServerActionResponse__Input, _drydock_agent_v1_StopServerRequest, _drydock_agent_v1_ServerActionResponse>
}
