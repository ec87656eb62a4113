// `virsh capabilities` (the host: uuid, CPU, topology, guest domain types)
// and `virsh domcapabilities` (what a guest can be given: the host-model CPU).
import type { CpuDescription } from '../../common/generated/drydock/agent/v1/CpuDescription.ts';
import { buildCpuXml, cpuDescriptionFromNode, cpuFeatures } from './parse-cpu.ts';
import { attr, child, children, extractElement, int, parseXml, text, type XNode } from './parse-xml.ts';

export interface HostCapabilities {
  /** libvirt's host UUID (host_uuid in libvirtd.conf, else from SMBIOS). */
  hostUuid: string;
  arch: string;
  /** The physical CPU as libvirt names it (model + features beyond it). */
  cpu: CpuDescription;
  topology: { sockets: number; dies: number; cores: number; threads: number };
  /** Domain types offered for hvm guests of the host arch, e.g. ["qemu", "kvm"]. */
  domainTypes: string[];
  /** True when hardware virtualisation (domain type kvm) is offered. */
  kvm: boolean;
  /** Migration transports libvirt lists (["tcp", "rdma"]). */
  migrationTransports: string[];
}

export function parseCapabilities(xml: string): HostCapabilities {
  const caps = parseXml(xml).capabilities as XNode | undefined;
  const host = child(caps, 'host');
  const cpuNode = child(host, 'cpu');
  const arch = text(cpuNode, 'arch');
  const hostStart = xml.indexOf('<host>');
  const cpuXml = hostStart >= 0 ? extractElement(xml, 'cpu', hostStart) : '';
  const topo = child(cpuNode, 'topology');

  const domainTypes = new Set<string>();
  for (const guest of children(caps, 'guest')) {
    if (text(guest, 'os_type') !== 'hvm') continue;
    const garch = child(guest, 'arch');
    if (attr(garch, 'name') !== arch) continue;
    for (const d of children(garch, 'domain')) {
      const t = attr(d, 'type');
      if (t) domainTypes.add(t);
    }
  }
  const migration = child(host, 'migration_features');
  const transports = children(child(migration, 'uri_transports'), 'uri_transport').map((t) => text(t));

  return {
    hostUuid: text(host, 'uuid'),
    arch,
    cpu: cpuDescriptionFromNode(cpuNode, cpuXml, arch),
    topology: {
      sockets: int(attr(topo, 'sockets'), 1),
      dies: int(attr(topo, 'dies'), 1),
      cores: int(attr(topo, 'cores'), 1),
      threads: int(attr(topo, 'threads'), 1),
    },
    domainTypes: [...domainTypes],
    kvm: domainTypes.has('kvm'),
    migrationTransports: transports,
  };
}

export interface CpuModelAvailability {
  name: string;
  usable: boolean;
  vendor: string;
}

export interface DomainCapabilities {
  /** Domain type these capabilities are for ("kvm", "qemu"). */
  domainType: string;
  arch: string;
  machine: string;
  emulator: string;
  maxVcpus: number;
  /** host-model CPU: what a guest with mode='host-model' gets, in a `<cpu>` libvirt takes back. */
  hostModel: CpuDescription | null;
  hostPassthrough: boolean;
  /** Named models and whether this host can run them. */
  models: CpuModelAvailability[];
}

export function parseDomainCapabilities(xml: string): DomainCapabilities {
  const dc = parseXml(xml).domainCapabilities as XNode | undefined;
  const arch = text(dc, 'arch');
  const modes = children(child(dc, 'cpu'), 'mode');
  const mode = (name: string) => modes.find((m) => attr(m, 'name') === name);
  const hm = mode('host-model');
  let hostModel: CpuDescription | null = null;
  if (hm && attr(hm, 'supported') === 'yes') {
    const { features, disabled } = cpuFeatures(hm);
    const d = { model: text(hm, 'model'), vendor: text(hm, 'vendor'), features, disabled_features: disabled };
    hostModel = { arch, ...d, xml: buildCpuXml(d) };
  }
  const custom = mode('custom');
  return {
    domainType: text(dc, 'domain'),
    arch,
    machine: text(dc, 'machine'),
    emulator: text(dc, 'path'),
    maxVcpus: int(attr(child(dc, 'vcpu'), 'max')),
    hostModel,
    hostPassthrough: attr(mode('host-passthrough'), 'supported') === 'yes',
    models: children(custom, 'model').map((m) => ({ name: text(m), usable: attr(m, 'usable') === 'yes', vendor: attr(m, 'vendor') })),
  };
}
