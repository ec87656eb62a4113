// Removes every lab under the state root whose owner process is dead (a
// crashed test run leaves its namespaces, libvirtds and guests behind until
// a lab of the same name is created again). Labs in use are left alone.
//
//   tsx scripts/lab/clean-leftovers.ts [--state-root DIR]
import { readdir } from 'node:fs/promises';
import { listNetns } from './network.ts';
import { cleanLeftover, DEFAULT_STATE_ROOT } from './state.ts';

const LAB_NAME_RE = /^[a-z][a-z0-9]{0,5}$/;

async function main(argv: string[]): Promise<void> {
  let stateRoot = DEFAULT_STATE_ROOT;
  if (argv[0] === '--state-root' && argv[1]) stateRoot = argv[1];
  else if (argv.length) throw new Error('usage: clean-leftovers.ts [--state-root DIR]');
  const names = new Set((await readdir(stateRoot).catch(() => [] as string[])).filter((n) => LAB_NAME_RE.test(n)));
  // Namespaces of a lab whose state directory is already gone.
  for (const ns of await listNetns()) {
    const m = /^([a-z][a-z0-9]{0,5})lab-(br|h\d+)$/.exec(ns);
    if (m) names.add(m[1]!);
  }
  for (const name of [...names].sort()) {
    try {
      const cleaned = await cleanLeftover(stateRoot, name, (m) => console.log(m));
      if (!cleaned) console.log(`lab ${name}: nothing left`);
    } catch (e) {
      console.log(`lab ${name}: kept (${(e as Error).message})`);
    }
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`clean-leftovers: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
