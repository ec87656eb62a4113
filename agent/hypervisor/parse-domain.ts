// A domain as virsh shows it: `dumpxml` (identity, size, disks, guest CPU,
// drydock metadata), `domstate`, `list --all --uuid` and `domstats --raw`.
import type { GuestCpu } from '../../common/generated/drydock/agent/v1/GuestCpu.ts';
import { ServerState } from '../../common/generated/drydock/agent/v1/ServerState.ts';
import { cpuFeatures } from './parse-cpu.ts';
import { attr, child, children, extractElement, has, int, parseXml, scaled, text, type XNode } from './parse-xml.ts';

/** XML namespace of drydock's per-domain metadata element. */
export const DRYDOCK_METADATA_NS = 'https://drydock.dev/xmlns/server/1';

export interface DomainDisk {
  /** Guest device ("vda"). */
  target: string;
  /** "disk", "cdrom", "lun", "floppy". */
  device: string;
  /** Host path of the file or block device; "" for network disks and empty drives. */
  path: string;
  /** "file", "block", "network", "volume". */
  type: string;
  /** Image format from <driver type>: "qcow2", "raw". */
  format: string;
  readonly: boolean;
  /** <source pool=...> for type='volume' disks. */
  pool: string;
  /** Network protocol (rbd, nbd, ...) for type='network'. */
  protocol: string;
}

export interface DomainDefinition {
  uuid: string;
  name: string;
  /** "kvm", "qemu". */
  domainType: string;
  /** Live (current) vCPU count. */
  vcpus: number;
  memoryBytes: number;
  disks: DomainDisk[];
  cpu: GuestCpu;
  /** True when the drydock metadata element is present. */
  hasDrydockMetadata: boolean;
  hotMigration: boolean;
  smart: boolean;
}

function bool(s: string): boolean {
  return s === 'true' || s === 'yes' || s === '1';
}

/** Finds drydock's element under <metadata>, whatever prefix it was written with. */
function drydockMetadata(metadata: XNode | undefined): XNode | undefined {
  if (!metadata) return undefined;
  for (const [key, value] of Object.entries(metadata)) {
    if (key.startsWith('@') || key === '#text') continue;
    for (const el of Array.isArray(value) ? value : [value]) {
      if (el === null || typeof el !== 'object') continue;
      const node = el as XNode;
      const local = key.includes(':') ? key.slice(key.indexOf(':') + 1) : key;
      const ns = Object.entries(node).find(([k, v]) => k.startsWith('@xmlns') && v === DRYDOCK_METADATA_NS);
      if (ns && local === 'server') return node;
    }
  }
  return undefined;
}

export function parseDomainXml(xml: string): DomainDefinition {
  const dom = parseXml(xml).domain as XNode | undefined;
  if (!dom) throw new Error('not a domain XML document');

  const cpuNode = child(dom, 'cpu');
  const cpuXml = extractElement(xml, 'cpu');
  const { features } = cpuFeatures(cpuNode);
  const cpu: GuestCpu = {
    // libvirt's default when <cpu> is absent or has no mode is custom.
    mode: attr(cpuNode, 'mode') || (cpuNode ? 'custom' : ''),
    model: text(cpuNode, 'model'),
    features,
    xml: cpuXml,
  };

  const disks: DomainDisk[] = [];
  for (const d of children(child(dom, 'devices'), 'disk')) {
    const type = attr(d, 'type');
    const source = child(d, 'source');
    const path = type === 'file' ? attr(source, 'file') : type === 'block' ? attr(source, 'dev') : type === 'dir' ? attr(source, 'dir') : '';
    disks.push({
      target: attr(child(d, 'target'), 'dev'),
      device: attr(d, 'device') || 'disk',
      path,
      type,
      format: attr(child(d, 'driver'), 'type'),
      readonly: has(d, 'readonly'),
      pool: type === 'volume' ? attr(source, 'pool') : '',
      protocol: type === 'network' ? attr(source, 'protocol') : '',
    });
  }

  const meta = drydockMetadata(child(dom, 'metadata'));
  const vcpuNode = child(dom, 'vcpu');
  return {
    uuid: text(dom, 'uuid').toLowerCase(),
    name: text(dom, 'name'),
    domainType: attr(dom, 'type'),
    vcpus: int(attr(vcpuNode, 'current')) || int(text(vcpuNode)),
    // currentMemory is what the guest has now (balloon); memory is the maximum
    // the target must be able to hold, so plan with the maximum.
    memoryBytes: scaled(child(dom, 'memory')),
    disks,
    cpu,
    hasDrydockMetadata: meta !== undefined,
    hotMigration: bool(attr(meta, 'hot_migration')),
    smart: bool(attr(meta, 'smart')),
  };
}

/** virDomainState numbers (domstats state.state) → proto ServerState. */
const STATE_BY_NUMBER: Record<number, ServerState> = {
  0: ServerState.SERVER_STATE_UNSPECIFIED, // nostate
  1: ServerState.SERVER_STATE_RUNNING,
  2: ServerState.SERVER_STATE_BLOCKED,
  3: ServerState.SERVER_STATE_PAUSED,
  4: ServerState.SERVER_STATE_SHUTDOWN,
  5: ServerState.SERVER_STATE_SHUTOFF,
  6: ServerState.SERVER_STATE_CRASHED,
  7: ServerState.SERVER_STATE_SUSPENDED,
};

/** virsh's state words (domstate) → proto ServerState. */
const STATE_BY_WORD: Record<string, ServerState> = {
  running: ServerState.SERVER_STATE_RUNNING,
  idle: ServerState.SERVER_STATE_BLOCKED,
  blocked: ServerState.SERVER_STATE_BLOCKED,
  paused: ServerState.SERVER_STATE_PAUSED,
  'in shutdown': ServerState.SERVER_STATE_SHUTDOWN,
  'shut off': ServerState.SERVER_STATE_SHUTOFF,
  crashed: ServerState.SERVER_STATE_CRASHED,
  pmsuspended: ServerState.SERVER_STATE_SUSPENDED,
  'no state': ServerState.SERVER_STATE_UNSPECIFIED,
};

export function stateFromNumber(n: number): ServerState {
  return STATE_BY_NUMBER[n] ?? ServerState.SERVER_STATE_UNSPECIFIED;
}

export interface DomainStateInfo {
  state: ServerState;
  /** Reason word in parentheses with --reason ("migrated", "post-copy", "booted"). */
  reason: string;
}

/** `virsh domstate [--reason]`: "running", "paused (post-copy)", "shut off (destroyed)". */
export function parseDomState(stdout: string): DomainStateInfo {
  const line = stdout.trim().split('\n')[0]?.trim() ?? '';
  const m = line.match(/^(.*?)(?:\s*\(([^)]*)\))?$/);
  const word = (m?.[1] ?? line).trim();
  return { state: STATE_BY_WORD[word] ?? ServerState.SERVER_STATE_UNSPECIFIED, reason: (m?.[2] ?? '').trim() };
}

/** `virsh list --all --uuid`: one uuid a line. */
export function parseUuidList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .filter((l) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(l));
}

/** `virsh ... --name`: one name a line (pool-list, list). */
export function parseNameList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

export interface BlockStats {
  name: string;
  path: string;
  /** domstats block.N.allocation: for a running domain the highest written offset, else allocated bytes. */
  allocation: number;
  capacity: number;
  /** Host size of the file or device. */
  physical: number;
}

export interface DomainStats {
  name: string;
  state: ServerState;
  /** virDomain*Reason number (e.g. 12 = paused for post-copy). */
  stateReason: number;
  vcpus: number;
  /** balloon.maximum in bytes (0 when not reported). */
  memoryMaxBytes: number;
  blocks: BlockStats[];
  raw: Map<string, string>;
}

/** `virsh domstats --raw ...`: a "Domain: 'name'" header then indented key=value lines. */
export function parseDomStats(stdout: string): DomainStats[] {
  const out: DomainStats[] = [];
  let cur: { name: string; raw: Map<string, string> } | undefined;
  const finish = () => {
    if (!cur) return;
    const r = cur.raw;
    const n = (k: string) => int(r.get(k) ?? '');
    const blocks: BlockStats[] = [];
    for (let i = 0; i < n('block.count'); i++) {
      blocks.push({
        name: r.get(`block.${i}.name`) ?? '',
        path: r.get(`block.${i}.path`) ?? '',
        allocation: n(`block.${i}.allocation`),
        capacity: n(`block.${i}.capacity`),
        physical: n(`block.${i}.physical`),
      });
    }
    out.push({
      name: cur.name,
      state: stateFromNumber(n('state.state')),
      stateReason: n('state.reason'),
      vcpus: n('vcpu.current'),
      memoryMaxBytes: n('balloon.maximum') * 1024,
      blocks,
      raw: r,
    });
  };
  for (const raw of stdout.split('\n')) {
    const header = raw.match(/^Domain: '(.*)'\s*$/);
    if (header) {
      finish();
      cur = { name: header[1] ?? '', raw: new Map() };
      continue;
    }
    const line = raw.trim();
    const i = line.indexOf('=');
    if (cur && i > 0) cur.raw.set(line.slice(0, i), line.slice(i + 1));
  }
  finish();
  return out;
}
