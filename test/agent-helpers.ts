// Client-side helpers for the agent tests: a typed client, promise-returning
// unary calls, and a MigrateServer stream collector.
import * as grpc from '@grpc/grpc-js';
import { loadAgentProto } from '../common/proto.ts';
import type { AgentClient } from '../common/generated/drydock/agent/v1/Agent.ts';
import type { MigrateServerRequest__Input } from '../common/generated/drydock/agent/v1/MigrateServerRequest.ts';
import type { MigrationEvent } from '../common/generated/drydock/agent/v1/MigrationEvent.ts';
import type { Migration } from '../common/generated/drydock/agent/v1/Migration.ts';

export type { AgentClient };

export function agentClient(endpoint: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): AgentClient {
  const proto = loadAgentProto();
  return new proto.drydock.agent.v1.Agent(endpoint, credentials, options) as unknown as AgentClient;
}

type UnaryMethod<Req, Res> = (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall;

/** Calls a unary method and resolves with its answer (rejects with the ServiceError). */
export function call<Req, Res>(client: AgentClient, method: string, req: Req, deadlineMs = 30_000): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod<Req, Res>>)[method]!.bind(client);
  return new Promise((resolve, reject) => {
    fn(req, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

/** Runs a call expected to fail; resolves with its gRPC code and details. */
export async function callError(client: AgentClient, method: string, req: unknown): Promise<{ code: grpc.status; details: string; kind: string }> {
  try {
    await call(client, method, req);
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details, kind: e.metadata?.get('drydock-error-kind')?.[0]?.toString() ?? '' };
  }
  throw new Error(`${method} unexpectedly succeeded`);
}

export interface MigrationRun {
  events: MigrationEvent[];
  final: Migration;
}

/** Opens MigrateServer and collects every event until the stream ends. */
export function migrate(
  client: AgentClient,
  req: MigrateServerRequest__Input,
  opts: { onEvent?: (ev: MigrationEvent, stream: grpc.ClientReadableStream<MigrationEvent>) => void; deadlineMs?: number } = {},
): Promise<MigrationRun> {
  return new Promise((resolve, reject) => {
    const events: MigrationEvent[] = [];
    const stream = client.MigrateServer(req, { deadline: Date.now() + (opts.deadlineMs ?? 120_000) });
    stream.on('data', (ev: MigrationEvent) => {
      events.push(ev);
      opts.onEvent?.(ev, stream);
    });
    stream.on('error', reject);
    stream.on('end', () => {
      const last = events.at(-1)?.migration;
      if (!last) reject(new Error('stream ended without events'));
      else resolve({ events, final: last });
    });
  });
}

/** Opens MigrateServer and resolves with the gRPC error it ends with. */
export function migrateError(
  client: AgentClient,
  req: MigrateServerRequest__Input,
): Promise<{ code: grpc.status; details: string; kind: string; events: number }> {
  return new Promise((resolve, reject) => {
    let events = 0;
    const stream = client.MigrateServer(req, { deadline: Date.now() + 30_000 });
    stream.on('data', () => events++);
    stream.on('error', (e: grpc.ServiceError) =>
      resolve({ code: e.code, details: e.details, kind: e.metadata?.get('drydock-error-kind')?.[0]?.toString() ?? '', events }),
    );
    stream.on('end', () => reject(new Error(`MigrateServer unexpectedly succeeded with ${events} events`)));
  });
}
