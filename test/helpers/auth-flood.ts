// A flood of wrong bearer tokens against a coordinator's admin API, run as
// its own process (its own event loop and CPU, as an attacker's would be):
// `peers` workers, each from its own loopback source address (127.0.1.N,
// through a source proxy), each with one call in flight at a time and a
// fresh random token per call, for `durationMs` (bounded: also at most
// `maxCallsPerPeer` calls each). Loopback only.
//
// With `probeTokens` (and best `peers: 0`, in a process of its own), it
// measures what valid callers see instead: from `probeAfterMs` on, a call
// every `probeEveryMs` (open loop: whatever the earlier ones do) with those
// tokens in turn, straight from 127.0.0.1. Not in the test process: a
// coordinator that blocks its event loop (and the test's with it, when it
// runs in the test) cannot stop the probes from being sent, and not in the
// flood's process, whose own load would add to what they measure.
//
//   node --import tsx test/helpers/auth-flood.ts '{"port":7443,"peers":64,"durationMs":8000,"pauseMs":20}'
//
// Prints {"ready":true} once every worker is connected, then one JSON line
// with the totals: {"calls":N,"byCode":{"UNAUTHENTICATED":n,...},"probes":[{"ms":..,"code":..}]}.
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadAdminProto } from '../../common/proto.ts';
import { startSourceProxy } from './source-proxy.ts';

interface FloodOptions {
  port: number;
  peers: number;
  durationMs: number;
  /** Pause between one worker's calls. */
  pauseMs: number;
  maxCallsPerPeer?: number;
  probeTokens?: string[];
  probeEveryMs?: number;
  probeAfterMs?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as FloodOptions;
if (!opts.port || !(opts.peers >= 0 && opts.peers <= 250) || !opts.durationMs) {
  process.stderr.write('usage: auth-flood.ts \'{"port":P,"peers":0..250,"durationMs":D,"pauseMs":Q}\'\n');
  process.exit(2);
}

const Ctor = loadAdminProto().drydock.admin.v1.Admin;
const byCode: Record<string, number> = {};
let calls = 0;

const workers = await Promise.all(
  Array.from({ length: opts.peers }, async (_, i) => {
    const proxy = await startSourceProxy(opts.port, `127.0.1.${i + 1}`);
    const client = new Ctor(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err?: Error) => (err ? reject(err) : resolve())));
    return { proxy, client };
  }),
);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

const deadline = Date.now() + opts.durationMs;
const maxCalls = opts.maxCallsPerPeer ?? 100_000;

const call = (client: grpc.Client & Record<string, Function>, token: string) =>
  new Promise<number>((resolve) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    client.ListZones!.call(client, {}, md, { deadline: new Date(Date.now() + 5000) }, (err: grpc.ServiceError | null) =>
      resolve(err ? err.code : grpc.status.OK),
    );
  });

const probeClient = new Ctor(`127.0.0.1:${opts.port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;
const probing = (async () => {
  const tokens = opts.probeTokens ?? [];
  if (tokens.length === 0) return [];
  await sleep(opts.probeAfterMs ?? 0);
  const out: Promise<{ ms: number; code: string }>[] = [];
  for (let i = 0; Date.now() < deadline - 1000; i++) {
    const t0 = performance.now();
    out.push(call(probeClient, tokens[i % tokens.length]!).then((code) => ({ ms: performance.now() - t0, code: grpc.status[code] ?? String(code) })));
    await sleep(opts.probeEveryMs ?? 100);
  }
  return Promise.all(out);
})();

await Promise.all(
  workers.map(async ({ client }) => {
    for (let n = 0; n < maxCalls && Date.now() < deadline; n++) {
      const code = await call(client, randomBytes(24).toString('hex'));
      calls++;
      const name = grpc.status[code] ?? String(code);
      byCode[name] = (byCode[name] ?? 0) + 1;
      if (opts.pauseMs > 0) await sleep(opts.pauseMs);
    }
  }),
);
const probes = await probing;
process.stdout.write(`${JSON.stringify({ calls, byCode, probes })}\n`);
probeClient.close();
for (const { client, proxy } of workers) {
  client.close();
  await proxy.close();
}
process.exit(0);
