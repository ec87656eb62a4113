// A flood of wrong bearer tokens against a coordinator's admin API, run as
// its own process (its own event loop and CPU, as an attacker's would be):
// `peers` workers, each from its own loopback source address (127.0.1.N,
// through a source proxy), each with one call in flight at a time and a
// fresh random token per call, for `durationMs` (bounded: also at most
// `maxCallsPerPeer` calls each). Loopback only.
//
//   node --import tsx test/helpers/auth-flood.ts '{"port":7443,"peers":64,"durationMs":8000,"pauseMs":20}'
//
// Prints {"ready":true} once every worker is connected, then one JSON line
// with the totals: {"calls":N,"byCode":{"UNAUTHENTICATED":n,...}}.
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
}

const opts = JSON.parse(process.argv[2] ?? '{}') as FloodOptions;
if (!opts.port || !opts.peers || !opts.durationMs || opts.peers > 250) {
  process.stderr.write('usage: auth-flood.ts \'{"port":P,"peers":N<=250,"durationMs":D,"pauseMs":Q}\'\n');
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
await Promise.all(
  workers.map(async ({ client }) => {
    for (let n = 0; n < maxCalls && Date.now() < deadline; n++) {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${randomBytes(24).toString('hex')}`);
      const code = await new Promise<number>((resolve) =>
        client.ListZones!.call(client, {}, md, { deadline: new Date(Date.now() + 5000) }, (err: grpc.ServiceError | null) => resolve(err ? err.code : grpc.status.OK)),
      );
      calls++;
      const name = grpc.status[code] ?? String(code);
      byCode[name] = (byCode[name] ?? 0) + 1;
      if (opts.pauseMs > 0) await sleep(opts.pauseMs);
    }
  }),
);
process.stdout.write(`${JSON.stringify({ calls, byCode })}\n`);
for (const { client, proxy } of workers) {
  client.close();
  await proxy.close();
}
process.exit(0);
