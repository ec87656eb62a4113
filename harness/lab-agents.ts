// Runs real drydock-agent processes inside lab hosts (scripts/lab): one per
// host, `agent/main.ts --config FILE` in the host's namespaces with
// qemu:///system, as in production. For the agent's lab test, the bench, and
// the coordinator's lab tests. As in production the agents serve mutual TLS:
// each with its host certificate from the lab CA (scripts/pki.mjs,
// .cache/pki/), admitting only the coordinator certificate; callers use
// labCoordinatorTls() (coordinator config) or labAgentChannel() (raw clients).
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { stringify as toYaml } from 'yaml';
import type { Lab, LabHost } from '../scripts/lab/index.ts';
import { ensureCoordinatorCert, ensureHostCert, type IssuedCert } from '../scripts/pki.mjs';
import type { NatsAuth } from '../common/nats-auth.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const LAB_AGENT_PORT = 7400;

export interface LabAgentOptions {
  /** Directory for the generated configs and the agents' logs (root namespace). */
  dir: string;
  /** NATS URL reachable from the hosts (a server listening on lab.rootIp); omitted = no NATS. */
  natsUrl?: string;
  /** Each host's NATS credentials (its own identity: NatsCredentials.hostAuth); required with natsUrl. */
  natsAuth?: (hostId: string) => NatsAuth;
  /** Extra/overriding config options (YAML shape), merged shallowly per top-level key. */
  config?: Record<string, unknown>;
  port?: number;
  /** How long to wait for the agent to answer GetHostFacts. */
  startTimeoutMs?: number;
}

export interface LabAgent {
  host: LabHost;
  /** ip:port of the agent's gRPC API. */
  endpoint: string;
  configFile: string;
  logFile: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Times the supervisor started the agent again after it exited 75 (RebootHost). */
  readonly restarts: number;
  /** SIGTERM (graceful), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** Starts the process again with the same config (after stop or a crash). */
  start(): Promise<void>;
}

/** The coordinator's CA and client certificate for calling lab agents (agents.tls of a coordinator config). */
export async function labCoordinatorTls(): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const { caFile, certFile, keyFile } = await ensureCoordinatorCert();
  return { caFile, certFile, keyFile };
}

/**
 * Credentials and options of a raw gRPC client of host `hostId`'s lab agent:
 * the coordinator's certificate, and the agent's certificate checked for
 * that host id, as coordinator/agent-client.ts does.
 */
export async function labAgentChannel(hostId: string): Promise<{ credentials: ChannelCredentials; options: ChannelOptions }> {
  const grpc = await import('@grpc/grpc-js');
  const { hostCertificateCheck } = await import('../common/peer-identity.ts');
  const { caFile, certFile, keyFile } = await ensureCoordinatorCert();
  return {
    credentials: grpc.credentials.createSsl(readFileSync(caFile), readFileSync(keyFile), readFileSync(certFile), {
      checkServerIdentity: hostCertificateCheck(hostId),
    }),
    options: { 'grpc.ssl_target_name_override': hostId },
  };
}

/** The agent config for one lab host (YAML shape), serving mTLS with `cert` (its host certificate). */
export function labAgentConfig(
  lab: Lab,
  host: LabHost,
  cert: IssuedCert,
  opts: Pick<LabAgentOptions, 'natsUrl' | 'natsAuth' | 'config' | 'port'>,
): Record<string, unknown> {
  const port = opts.port ?? LAB_AGENT_PORT;
  const base: Record<string, unknown> = {
    hostId: host.name,
    hypervisor: 'libvirt',
    grpc: { listenAddress: `${host.ip}:${port}`, advertisedEndpoint: `${host.ip}:${port}` },
    // allowedClientIdentities: the default, the coordinator's URI SAN.
    tls: { certFile: cert.certFile, keyFile: cert.keyFile, clientCaFile: cert.caFile },
    // Lab guests are TCG: report and compare the CPU for domain type qemu.
    libvirt: { uri: 'qemu:///system', migrationUri: host.uri, callTimeout: '30s', virtType: 'qemu' },
    storage: { sharedPathPrefixes: [lab.sharedDir], localPoolDirs: ['/var/lib/libvirt/images'], clusterId: '' },
    // Inside the host's private /var/lib/libvirt: per host, survives the lab's host restart.
    stateDir: '/var/lib/libvirt/drydock-agent',
    // Lab hosts share one kernel; each has its own boot id file.
    bootIdFile: '/run/drydock-lab/boot_id',
    nats: opts.natsUrl ? { servers: [opts.natsUrl], ...opts.natsAuth?.(host.name) } : { servers: [] },
    heartbeatInterval: '2s',
    migration: { pollInterval: '250ms', stallTimeout: '60s', shutdownTimeout: '20s' },
    // The lab's reboot restarts the host's libvirtd (guests stay); the agent
    // then exits 75 and startLabAgent's supervisor brings it back, new incarnation.
    rebootCommand: [process.execPath, '--import', 'tsx', path.join(REPO, 'scripts/lab/reboot-host.ts'), lab.name, host.name],
    rebootRestartsAgent: true,
    logLevel: 'info',
  };
  for (const [k, v] of Object.entries(opts.config ?? {})) {
    const cur = base[k];
    base[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v) ? { ...cur, ...v } : v;
  }
  return base;
}

async function waitForAgent(hostId: string, endpoint: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  // Imported lazily so this module stays cheap for callers that only want the config.
  const { loadAgentProto } = await import('../common/proto.ts');
  const proto = loadAgentProto();
  const { credentials, options } = await labAgentChannel(hostId);
  const client = new proto.drydock.agent.v1.Agent(endpoint, credentials, options);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        client.GetHostFacts({}, { deadline: Date.now() + 3000 }, (err) => resolve(!err));
      });
      if (ok) return;
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        const log = (() => {
          try {
            return readFileSync(logFile, 'utf8').slice(-3000);
          } catch {
            return '';
          }
        })();
        throw new Error(`agent at ${endpoint} did not come up (exit ${child.exitCode ?? child.signalCode}):\n${log}`);
      }
      await sleep(250);
    }
  } finally {
    client.close();
  }
}

/** Starts one agent process inside a lab host and waits until it answers. */
export async function startLabAgent(lab: Lab, host: LabHost, opts: LabAgentOptions): Promise<LabAgent> {
  mkdirSync(opts.dir, { recursive: true });
  const configFile = path.join(opts.dir, `agent-${lab.name}-${host.name}.yaml`);
  writeFileSync(configFile, toYaml(labAgentConfig(lab, host, await ensureHostCert(host.name), opts)));
  const logFile = path.join(opts.dir, `agent-${lab.name}-${host.name}.log`);
  const endpoint = `${host.ip}:${opts.port ?? LAB_AGENT_PORT}`;
  let child!: ChildProcess;
  let stopped = false;
  let restarts = 0;
  const spawnIt = async () => {
    const fd = openSync(logFile, 'a');
    try {
      child = host.spawn([process.execPath, '--import', 'tsx', 'agent/main.ts', '--config', configFile], { cwd: REPO, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    // A tiny supervisor, like systemd's Restart=on-failure: exit 75 means "start me again".
    child.once('exit', (code) => {
      if (code === 75 && !stopped) {
        restarts++;
        spawnIt().catch(() => undefined);
      }
    });
    try {
      await waitForAgent(host.name, endpoint, child, logFile, opts.startTimeoutMs ?? 60_000);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  };
  await spawnIt();
  const agent: LabAgent = {
    host,
    endpoint,
    configFile,
    logFile,
    get child() {
      return child;
    },
    get pid() {
      return child.pid ?? -1;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopped = true;
      const c = child;
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async start() {
      stopped = false;
      if (child.exitCode === null && child.signalCode === null) return;
      await spawnIt();
    },
  };
  return agent;
}

/** One agent per lab host, started in parallel. On failure the started ones are stopped. */
export async function startLabAgents(lab: Lab, opts: LabAgentOptions): Promise<LabAgent[]> {
  const results = await Promise.allSettled(lab.hosts.map((h) => startLabAgent(lab, h, opts)));
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) {
    await Promise.allSettled(ok.map((a) => a.stop()));
    throw failed.reason;
  }
  return ok;
}
