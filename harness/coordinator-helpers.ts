// Test helpers for the coordinator: configs for instances on a test NATS,
// an admin client with token or certificate credentials, and polling.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadAdminProto } from '../common/proto.ts';
import { compileConfig, type CoordinatorConfig } from '../coordinator/config.ts';
import type { NatsAuth } from '../common/nats-auth.ts';

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `drydock-${prefix}-`));
}

export interface TestConfigOptions {
  id: string;
  natsServers: string[];
  /** The coordinator's NATS credentials (TestNats.coordinatorAuth); required with natsServers. */
  natsAuth?: NatsAuth & { insecureNoAuth?: boolean };
  kvReplicas?: number;
  tokenFile?: string;
  adminTls?: { certFile: string; keyFile: string; clientCaFile?: string };
  agentsTls?: { caFile: string; certFile: string; keyFile: string };
  offlineAfter?: string;
  reconcileInterval?: string;
  leaderTtl?: string;
  leaderRenew?: string;
  dataDir?: string;
  /** DRYDOCK_COORDINATOR_* settings applied as the environment would (e.g. { DRYDOCK_COORDINATOR_AUTH_FAILURE_BURST: '3' }). */
  env?: Record<string, string>;
}

export function testConfig(o: TestConfigOptions): CoordinatorConfig {
  return compileConfig(
    {
      coordinatorId: o.id,
      admin: { listen: '127.0.0.1:0', ...(o.adminTls ? { tls: o.adminTls } : {}) },
      auth: { tokenFile: o.tokenFile ?? '' },
      nats: { servers: o.natsServers, ...o.natsAuth, kvReplicas: o.kvReplicas ?? 1, requestTimeout: '3s', ...(o.dataDir ? { dataDir: o.dataDir } : {}) },
      ...(o.agentsTls ? { agents: { tls: o.agentsTls, callTimeout: '5s' } } : { agents: { callTimeout: '5s' } }),
      inventory: { offlineAfter: o.offlineAfter ?? '10s', reconcileInterval: o.reconcileInterval ?? '30s' },
      leader: { ttl: o.leaderTtl ?? '3s', renewInterval: o.leaderRenew ?? '500ms' },
      logLevel: process.env.DRYDOCK_TEST_LOG ?? 'silent',
    },
    o.env ?? {},
  );
}

export interface AdminCallOptions {
  token?: string;
  /** Raw authorization header value (to send malformed ones). */
  authorization?: string;
  timeoutMs?: number;
}

/** A thin promise client of the admin API (any method by name). */
export class TestAdminClient {
  readonly client: grpc.Client & Record<string, Function>;

  constructor(port: number, tls?: { caFile: string; certFile?: string; keyFile?: string; serverName?: string }) {
    const Ctor = loadAdminProto().drydock.admin.v1.Admin;
    const creds = tls
      ? grpc.credentials.createSsl(readFileSync(tls.caFile), tls.keyFile ? readFileSync(tls.keyFile) : null, tls.certFile ? readFileSync(tls.certFile) : null)
      : grpc.credentials.createInsecure();
    const opts = tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {};
    this.client = new Ctor(`${tls ? 'localhost' : '127.0.0.1'}:${port}`, creds, opts) as unknown as grpc.Client & Record<string, Function>;
  }

  private metadata(o: AdminCallOptions): grpc.Metadata {
    const md = new grpc.Metadata();
    if (o.authorization !== undefined) md.set('authorization', o.authorization);
    else if (o.token) md.set('authorization', `Bearer ${o.token}`);
    return md;
  }

  call<T = any>(method: string, req: object, o: AdminCallOptions = {}): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client[method]!.call(
        this.client,
        req,
        this.metadata(o),
        { deadline: new Date(Date.now() + (o.timeoutMs ?? 10_000)) },
        (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  /** Server-streaming call: collects messages until the end or an error. */
  stream<T = any>(method: string, req: object, o: AdminCallOptions = {}): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const out: T[] = [];
      const s = this.client[method]!.call(this.client, req, this.metadata(o), {
        deadline: new Date(Date.now() + (o.timeoutMs ?? 10_000)),
      }) as grpc.ClientReadableStream<T>;
      s.on('data', (m: T) => out.push(m));
      s.on('error', reject);
      s.on('end', () => resolve(out));
    });
  }

  /** The call's gRPC status code (0 on success). */
  async code(method: string, req: object, o: AdminCallOptions = {}, streaming = false): Promise<number> {
    try {
      if (streaming) await this.stream(method, req, o);
      else await this.call(method, req, o);
      return grpc.status.OK;
    } catch (err) {
      return (err as grpc.ServiceError).code;
    }
  }

  close(): void {
    this.client.close();
  }
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}
