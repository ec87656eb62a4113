// The agent client pool is bounded (issue 12, defect 5): a channel to an
// agent is opened by the first call, not by asking for the client, and
// closed once idle; clients of hosts no longer called are forgotten; a call
// in flight is never cut; a client kept by a caller reopens on its next call.
// Real gRPC against sim agents; the sockets are counted in /proc/net/tcp.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimAgents, type SimAgents } from '../harness/sim-cluster.ts';
import { AgentClientPool, type AgentClientOptions } from '../coordinator/agent-client.ts';

const plain: AgentClientOptions = { callTimeoutMs: 5000, tls: { caFile: '', certFile: '', keyFile: '' } };
const IDLE = 60_000;

/** Established TCP connections to `port` on this machine (the client's side of each). */
function connectionsTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[2]!.endsWith(`:${hex}`) && f[3] === '01') n++;
    }
  }
  return n;
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

const portOf = (endpoint: string) => Number(endpoint.split(':').pop());

let sims: SimAgents;
test.before(async () => {
  sims = await startSimAgents({ count: 2, hostIds: ['pool-1', 'pool-2'] });
});
test.after.always(async () => {
  await sims?.stop();
});

test('a client opens no channel until it calls, and an idle channel is closed (socket gone), then reopened by the next call', async (t) => {
  const pool = new AgentClientPool(plain, IDLE);
  t.teardown(() => pool.closeAll());
  const a = sims.byId('pool-1');
  const port = portOf(a.endpoint);
  const c = pool.forHost('pool-1', a.endpoint);
  await sleep(200);
  t.is(connectionsTo(port), 0, 'asking for a client must not connect');
  t.deepEqual(pool.size, { clients: 1, open: 0 });

  t.is((await c.getHostFacts()).host_id, 'pool-1');
  t.is(connectionsTo(port), 1);
  t.deepEqual(pool.size, { clients: 1, open: 1 });

  t.is(pool.sweep(Date.now()), 0, 'a channel used just now stays');
  t.is(pool.sweep(Date.now() + IDLE), 1, 'idle for idleCloseMs: closed');
  await until('the socket closes', () => connectionsTo(port) === 0);
  t.deepEqual(pool.size, { clients: 0, open: 0 }, 'and the client is forgotten');

  // The caller kept its client: the next call opens a channel again, watched by the pool.
  t.is((await c.listServers()).host_id, 'pool-1');
  t.is(connectionsTo(port), 1);
  t.is(pool.size.open, 1);
  t.is(pool.sweep(Date.now() + IDLE), 1);
  await until('the socket closes again', () => connectionsTo(port) === 0);
});

test('a call in flight keeps its channel however long the sweep waits; idle clients of other hosts go', async (t) => {
  const pool = new AgentClientPool(plain, IDLE);
  t.teardown(() => pool.closeAll());
  const a = sims.byId('pool-2');
  a.sim.faults.setLatency(800);
  t.teardown(() => a.sim.faults.setLatency(0));
  const slow = pool.forHost('pool-2', a.endpoint).getHostFacts();
  pool.forHost('pool-1', sims.byId('pool-1').endpoint); // asked for, never used
  await sleep(200);
  t.is(pool.sweep(Date.now() + 10 * IDLE), 0, 'the channel of a call in flight is not closed');
  t.deepEqual(pool.size, { clients: 1, open: 1 }, 'the unused client of pool-1 is forgotten; pool-2 is kept');
  t.is((await slow).host_id, 'pool-2');
  t.is(pool.sweep(Date.now() + IDLE), 1);
  t.deepEqual(pool.size, { clients: 0, open: 0 });
});
