// RebootHost for lab hosts: restarts one lab host's libvirtd in its own
// namespaces (running guests stay, libvirtd re-attaches) and gives the host a
// new boot id (/run/drydock-lab/boot_id inside the host). Meant as the agent's
// configured reboot command in the lab; works from the root namespace and
// from inside any lab host.
//
//   tsx scripts/lab/reboot-host.ts <lab name> <host>  [--state-root DIR]
//   e.g. tsx scripts/lab/reboot-host.ts dd h1
//
// Prints one JSON line: {"lab","host","libvirtdPid","bootId","ms"}; exits 1
// with a message on stderr on failure.
import { DEFAULT_STATE_ROOT } from './state.ts';
import { openLab } from './lab.ts';

async function main(argv: string[]): Promise<void> {
  let stateRoot = DEFAULT_STATE_ROOT;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--state-root') stateRoot = argv[++i] ?? '';
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else positional.push(a);
  }
  const [labName, hostName] = positional;
  if (!labName || !hostName || positional.length !== 2 || !stateRoot) {
    throw new Error('usage: reboot-host.ts <lab name> <host> [--state-root DIR]');
  }
  const lab = await openLab(labName, { stateRoot });
  const host = lab.host(hostName);
  const t0 = performance.now();
  const pid = await lab.restartHost(host);
  const out = { lab: labName, host: host.name, libvirtdPid: pid, bootId: await host.bootId(), ms: Math.round(performance.now() - t0) };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`reboot-host: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
