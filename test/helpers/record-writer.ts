// A child program for test/migration-store.test.ts: saves migration records
// through MigrationStore one after another and prints "saved <id>" as each
// save() resolves, until it is killed.
import { MigrationStore, type StoredMigration } from '../../agent/migrations/store.ts';

const stateDir = process.argv[2];
if (!stateDir) throw new Error('usage: record-writer.ts <stateDir>');
const store = new MigrationStore(stateDir);
await store.open();
for (let i = 0; ; i++) {
  const id = `crash-${i}`;
  const rec = {
    version: 1,
    migration: { migration_id: id, server_uuid: '00000000-0000-4000-8000-000000000001', phase: 'MIGRATION_PHASE_TRANSFERRING', percent: i % 100 },
    request: { migration_id: id },
    localDisks: [`/var/lib/libvirt/images/${id}.qcow2`],
  } as unknown as StoredMigration;
  await store.save(rec);
  process.stdout.write(`saved ${id}\n`);
}
