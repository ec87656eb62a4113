// The lab network: one namespace per host and one for the bridge, veth pairs
// into the bridge, addresses inside the namespaces only. The root namespace
// gets one veth into the bridge with an address on the lab subnet, whose
// connected route is the only route it gains: no uplink, NAT or default route.
import { labAddress, subnetCidr } from './addresses.mjs';
import { LabError, run } from './exec.ts';

export { subnetCidr };

export interface LabNet {
  /** Third octet: the lab is 10.99.<subnet>.0/24. */
  subnet: number;
  /** Namespace holding the bridge (coordinator/NATS side). */
  bridgeNetns: string;
  /** The bridge's address inside bridgeNetns. */
  bridgeIp: string;
  /** Root-namespace end of the root veth. */
  rootVeth: string;
  /** Root namespace's address on the lab subnet (the test/coordinator side). */
  rootIp: string;
  hosts: { name: string; netns: string; ip: string }[];
}

export function planNet(prefix: string, hosts: number, subnet: number): LabNet {
  return {
    subnet,
    bridgeNetns: `${prefix}br`,
    bridgeIp: labAddress(subnet, 1),
    rootVeth: `${prefix}rt`,
    rootIp: labAddress(subnet, 254),
    hosts: Array.from({ length: hosts }, (_, i) => ({
      name: `h${i + 1}`,
      netns: `${prefix}h${i + 1}`,
      ip: labAddress(subnet, 11 + i),
    })),
  };
}

const ip = (...args: string[]) => run(['ip', ...args]);
const ipn = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);

export async function listNetns(): Promise<string[]> {
  const { stdout } = await ip('-j', 'netns', 'list');
  if (!stdout.trim()) return [];
  return (JSON.parse(stdout) as { name: string }[]).map((n) => n.name);
}

export async function netnsPids(ns: string): Promise<number[]> {
  const { stdout } = await ip('netns', 'pids', ns).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .map((l) => Number.parseInt(l, 10))
    .filter((n) => Number.isInteger(n) && n > 1);
}

export async function linkExists(name: string): Promise<boolean> {
  return ip('link', 'show', 'dev', name).then(
    () => true,
    () => false,
  );
}

/** Routes in the root namespace covering the lab subnet (a clash with someone else's lab). */
async function subnetRoutes(subnet: number): Promise<string[]> {
  const { stdout } = await ip('-j', 'route', 'show', 'match', subnetCidr(subnet));
  if (!stdout.trim()) return [];
  return (JSON.parse(stdout) as { dst: string; dev?: string }[]).filter((r) => r.dst !== 'default').map((r) => `${r.dst} dev ${r.dev ?? '?'}`);
}

export async function createNet(net: LabNet): Promise<void> {
  const clash = await subnetRoutes(net.subnet);
  if (clash.length) {
    throw new LabError(`lab subnet ${subnetCidr(net.subnet)} is already routed here (${clash.join('; ')}): pick another subnet`);
  }
  await ip('netns', 'add', net.bridgeNetns);
  await Promise.all(net.hosts.map((h) => ip('netns', 'add', h.netns)));

  const br = net.bridgeNetns;
  await ipn(br, 'link', 'set', 'lo', 'up');
  await ipn(br, 'link', 'add', 'br0', 'type', 'bridge');
  await ipn(br, 'addr', 'add', `${net.bridgeIp}/24`, 'dev', 'br0');
  await ipn(br, 'link', 'set', 'br0', 'up');

  await Promise.all(
    net.hosts.map(async (h) => {
      // Created inside the bridge namespace with the peer sent straight into
      // the host's: no interface ever appears in the root namespace.
      await ipn(br, 'link', 'add', h.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns);
      await ipn(br, 'link', 'set', h.name, 'master', 'br0', 'up');
      await ipn(h.netns, 'link', 'set', 'lo', 'up');
      await ipn(h.netns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
      await ipn(h.netns, 'link', 'set', 'eth0', 'up');
    }),
  );

  await ip('link', 'add', net.rootVeth, 'type', 'veth', 'peer', 'name', 'root', 'netns', br);
  await ipn(br, 'link', 'set', 'root', 'master', 'br0', 'up');
  // The /24 address brings exactly one connected route: the lab subnet.
  await ip('addr', 'add', `${net.rootIp}/24`, 'dev', net.rootVeth);
  await ip('link', 'set', net.rootVeth, 'up');
}

/** Deletes the lab's namespaces and root veth; processes in them must be gone already. */
export async function deleteNet(netnsNames: string[], rootVeth: string): Promise<void> {
  // Deleting the bridge namespace takes the root veth's peer and so the pair;
  // delete explicitly anyway in case the namespace is already gone.
  if (await linkExists(rootVeth)) await ip('link', 'del', rootVeth).catch(() => {});
  await Promise.all(netnsNames.map((ns) => ip('netns', 'del', ns).catch(() => {})));
}

/**
 * Cuts (up = false) or restores a host's link: its veth's end in the bridge
 * namespace (named after the host) goes down or up, as a pulled cable would;
 * the host's own interface, address and routes are left as they are.
 */
export async function setHostLink(net: LabNet, hostName: string, up: boolean): Promise<void> {
  const h = net.hosts.find((x) => x.name === hostName);
  if (!h) throw new LabError(`no host ${hostName} in this lab`);
  await ipn(net.bridgeNetns, 'link', 'set', 'dev', h.name, up ? 'up' : 'down');
}
