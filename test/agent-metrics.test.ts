// The agent's Prometheus endpoint, over HTTP, after a real gRPC migration on
// the sim hypervisor.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SimFabric } from '../harness/sim/fabric.ts';
import { compileAgentConfig } from '../agent/config.ts';
import { startAgent } from '../agent/agent.ts';
import { silentLogger } from '../common/logging.ts';
import { agentClient, migrate } from './agent-helpers.ts';

test('GET /metrics counts migrations by mode and result, bytes, and servers by state', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-agent-metrics-'));
  const fabric = new SimFabric({ bandwidthBps: 4 * 1024 ** 3, setupMs: 50 });
  const a = fabric.addHost({ hostId: 'ma' });
  const b = fabric.addHost({ hostId: 'mb' });
  const agent = await startAgent({
    config: compileAgentConfig({
      hostId: 'ma',
      hypervisor: 'sim',
      grpc: { listenAddress: '127.0.0.1:0' },
      stateDir: dir,
      metrics: { listen: '127.0.0.1:0' },
      rebootCommand: ['/bin/true'],
      logLevel: 'silent',
    }),
    hypervisor: a,
    log: silentLogger(),
  });
  const client = agentClient(agent.endpoint);
  t.teardown(async () => {
    client.close();
    await agent.stop(0);
    fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });
  t.true(agent.metricsPort > 0);
  const vs = a.addServer({ name: 'metered', memoryBytes: 256 * 1024 ** 2 });
  a.addServer({ name: 'idle-off', running: false });
  const run = await migrate(client, {
    migration_id: 'm-1',
    server_uuid: vs.uuid,
    mode: 'MIGRATION_MODE_LIVE',
    target_host_id: 'mb',
    target_uri: b.migrationUri,
  });
  t.is(run.final.phase, 'MIGRATION_PHASE_COMPLETED');
  const text = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
  t.regex(text, /^drydock_agent_migrations_total\{mode="live",result="completed",host="ma"\} 1$/m);
  t.regex(text, /^drydock_agent_migration_duration_seconds_count\{host="ma",mode="live"\} 1$/m);
  const bytes = Number(/^drydock_agent_migrated_bytes_total\{mode="live",host="ma"\} (\d+)/m.exec(text)?.[1]);
  t.true(bytes >= 256 * 1024 ** 2, `bytes ${bytes}`);
  t.regex(text, /^drydock_agent_servers\{state="shutoff",host="ma"\} 1$/m);
  t.notRegex(text, /^drydock_agent_servers\{state="running",host="ma"\}/m);
  t.is((await fetch(`http://127.0.0.1:${agent.metricsPort}/other`)).status, 404);
});

test('GET /metrics answers from a cached server listing: many scrapes, at most one listing per serversMaxAge', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'drydock-agent-metrics-'));
  const fabric = new SimFabric({ bandwidthBps: 4 * 1024 ** 3, setupMs: 50 });
  const a = fabric.addHost({ hostId: 'mc' });
  a.addServer({ name: 'counted', memoryBytes: 256 * 1024 ** 2 });
  // The hypervisor counting its full listings (on libvirt: virsh list + a query per server).
  let listings = 0;
  const list = a.listServers.bind(a);
  a.listServers = () => {
    listings++;
    return list();
  };
  const agent = await startAgent({
    config: compileAgentConfig({
      hostId: 'mc',
      hypervisor: 'sim',
      grpc: { listenAddress: '127.0.0.1:0' },
      stateDir: dir,
      metrics: { listen: '127.0.0.1:0', serversMaxAge: '1h' },
      rebootCommand: ['/bin/true'],
      logLevel: 'silent',
    }),
    hypervisor: a,
    log: silentLogger(),
  });
  t.teardown(async () => {
    await agent.stop(0);
    fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const scrape = async () => (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
  await scrape();
  const before = listings;
  // 20 scrapes, 10 of them at once.
  const texts = [...(await Promise.all(Array.from({ length: 10 }, scrape)))];
  for (let i = 0; i < 10; i++) texts.push(await scrape());
  for (const text of texts) t.regex(text, /^drydock_agent_servers\{state="running",host="mc"\} 1$/m);
  t.true(listings - before <= 1, `${listings - before} listings for 20 scrapes`);
});
