// One sim host's migration manager for the agent's flow tests: a real
// MigrationManager (durable records in a temp state dir) on a SimHost whose
// hypervisor calls a test may wrap, and the request of a move with
// every option at its default.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileAgentConfig } from '../agent/config.ts';
import { MigrationManager, type MigrationRequest } from '../agent/migrations/manager.ts';
import { silentLogger, type Logger } from '../common/logging.ts';
import type { SimFabric } from './sim/fabric.ts';
import type { SimHost } from './sim/host.ts';

/** A move of `serverUuid` to `target`: live, every option at its default (overridden by `over`). */
export function migrationRequest(
  migrationId: string,
  serverUuid: string,
  target: { hostId: string; migrationUri: string },
  over: Partial<MigrationRequest> = {},
): MigrationRequest {
  return {
    migration_id: migrationId,
    server_uuid: serverUuid,
    mode: 'MIGRATION_MODE_LIVE',
    target_host_id: target.hostId,
    target_uri: target.migrationUri,
    stall_timeout_ms: 0,
    deadline_ms: 0,
    allow_post_copy: false,
    allow_auto_converge: false,
    max_bandwidth_mibps: 0,
    shutdown_timeout_ms: 0,
    ...over,
  };
}

/**
 * An opened manager for `host`, its records in a new temp dir; at teardown
 * it closes, the fabric closes and the dir goes. `pollInterval`: the
 * config's migration.pollInterval (default: the config's own).
 */
export async function openSimManager(
  t: { teardown(fn: () => Promise<void> | void): void },
  fabric: SimFabric,
  host: SimHost,
  o: { pollInterval?: string; log?: Logger } = {},
): Promise<MigrationManager> {
  const dir = mkdtempSync(path.join(tmpdir(), `drydock-sim-migrations-${host.hostId}-`));
  const config = compileAgentConfig({
    hostId: host.hostId,
    hypervisor: 'sim',
    grpc: { listenAddress: '127.0.0.1:0' },
    stateDir: dir,
    rebootCommand: ['/bin/true'],
    ...(o.pollInterval ? { migration: { pollInterval: o.pollInterval } } : {}),
    logLevel: 'silent',
  });
  const mgr = new MigrationManager({ hostId: host.hostId, hypervisor: host, stateDir: dir, settings: config.migration, log: o.log ?? silentLogger() });
  t.teardown(async () => {
    await mgr.close(0);
    fabric.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await mgr.open();
  return mgr;
}
