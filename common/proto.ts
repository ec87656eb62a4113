// Loads the drydock protos at run time. The options must match the ones the
// generated types were made with (scripts/gen-proto.ts), or the types lie.
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ProtoGrpcType as AgentProto } from './generated/agent.ts';
import type { ProtoGrpcType as AdminProto } from './generated/admin.ts';

export const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'proto');

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export const AGENT_PROTO_FILE = 'drydock/agent/v1/agent.proto';
export const ADMIN_PROTO_FILE = 'drydock/admin/v1/admin.proto';

let agentDef: protoLoader.PackageDefinition | undefined;
let adminDef: protoLoader.PackageDefinition | undefined;

export function agentPackageDefinition(): protoLoader.PackageDefinition {
  agentDef ??= protoLoader.loadSync(AGENT_PROTO_FILE, LOADER_OPTIONS);
  return agentDef;
}

export function adminPackageDefinition(): protoLoader.PackageDefinition {
  adminDef ??= protoLoader.loadSync(ADMIN_PROTO_FILE, LOADER_OPTIONS);
  return adminDef;
}

export function loadAgentProto(): AgentProto {
  return grpc.loadPackageDefinition(agentPackageDefinition()) as unknown as AgentProto;
}

export function loadAdminProto(): AdminProto {
  return grpc.loadPackageDefinition(adminPackageDefinition()) as unknown as AdminProto;
}
