// `drydock snapshot`: the inventory as a file in coordinator/planner's
// snapshot format, for offline planning (commands/plan.ts), what-if questions
// and change reviews.
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Act } from '../action.ts';
import type { Ctx } from '../context.ts';
import { EXIT, type ExitCode } from '../exit.ts';
import { hostRecordFromProto, serverRecordFromProto, zoneRecordFromProto } from '../snapshot-records.ts';
import { parseSnapshot, serializeSnapshot } from '../../coordinator/planner/index.ts';
import type { InventorySnapshot } from '../../coordinator/model.ts';
import { listAllHosts, listAllServers } from '../pages.ts';

export function registerSnapshotCommand(program: Command, act: Act): void {
  program
    .command('snapshot')
    .description('write an inventory snapshot (zones, hosts, servers) for offline planning')
    .option('-o, --output <file>', 'write here instead of stdout')
    .action(act(async (ctx, opts: { output?: string }) => snapshotCommand(ctx, opts)));
}

async function snapshotCommand(ctx: Ctx, opts: { output?: string }): Promise<ExitCode> {
  const takenAtMs = Date.now();
  const [zones, hosts, servers] = await Promise.all([
    ctx.api.call('ListZones', {}),
    listAllHosts(ctx.api, { zone_id: '' }),
    listAllServers(ctx.api, { host_id: '', zone_id: '' }),
  ]);
  const snapshot: InventorySnapshot = {
    takenAtMs,
    zones: zones.zones.map(zoneRecordFromProto),
    hosts: hosts.hosts.map(hostRecordFromProto),
    // A server whose host is not listed (mid-registration) would make the file invalid.
    servers: servers.servers.filter((s) => hosts.hosts.some((h) => h.id === s.host_id)).map(serverRecordFromProto),
  };
  const text = serializeSnapshot(snapshot);
  parseSnapshot(text); // what we write must read back
  if (!opts.output || opts.output === '-') {
    ctx.io.out.write(text);
  } else {
    // Write then rename: an interrupted run never leaves half a file.
    const tmp = path.join(path.dirname(opts.output), `.${path.basename(opts.output)}.${process.pid}.tmp`);
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, opts.output);
    ctx.io.err.write(`wrote ${opts.output}: ${snapshot.zones.length} zone(s), ${snapshot.hosts.length} host(s), ${snapshot.servers.length} server(s)\n`);
  }
  // An older coordinator sends no pools: say what that means for local disks.
  const poolless = hosts.hosts.filter((h) => !(h.storage_pools?.length > 0)).map((h) => h.id);
  if (poolless.length > 0 && snapshot.servers.some((s) => s.disks.some((d) => !d.shared))) {
    ctx.io.err.write(
      `note: host(s) ${poolless.join(', ')} list no storage pools (an older coordinator does not send them); offline plans block servers with local disks unless you add storagePools to those hosts in the file\n`,
    );
  }
  return EXIT.OK;
}
