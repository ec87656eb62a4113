// Storage as virsh shows it: `pool-dumpxml`, `vol-info --bytes`,
// `vol-dumpxml`, `domblkinfo`.
import { attr, child, int, parseXml, scaled, text, type XNode } from './parse-xml.ts';

/** Pool types whose data every host of the cluster sees (libvirt's own notion of shared). */
export const SHARED_POOL_TYPES: ReadonlySet<string> = new Set(['netfs', 'iscsi', 'iscsi-direct', 'rbd', 'sheepdog', 'gluster', 'vstorage', 'mpath', 'scsi']);

export interface PoolDefinition {
  name: string;
  uuid: string;
  /** "dir", "fs", "netfs", "logical", "rbd", ... */
  type: string;
  /** Target path ("" for pools without one, e.g. rbd). */
  path: string;
  capacityBytes: number;
  allocationBytes: number;
  availableBytes: number;
  /** Source host of network pools. */
  sourceHost: string;
}

export function parsePoolXml(xml: string): PoolDefinition {
  const pool = parseXml(xml).pool as XNode | undefined;
  if (!pool) throw new Error('not a storage pool XML document');
  return {
    name: text(pool, 'name'),
    uuid: text(pool, 'uuid'),
    type: attr(pool, 'type'),
    path: text(child(pool, 'target'), 'path'),
    capacityBytes: scaled(child(pool, 'capacity'), 'bytes'),
    allocationBytes: scaled(child(pool, 'allocation'), 'bytes'),
    availableBytes: scaled(child(pool, 'available'), 'bytes'),
    sourceHost: attr(child(child(pool, 'source'), 'host'), 'name'),
  };
}

export interface VolumeInfo {
  name: string;
  type: string;
  capacityBytes: number;
  allocationBytes: number;
  /** From vol-dumpxml only: "qcow2", "raw". */
  format: string;
  path: string;
}

/** `virsh vol-info --bytes`: "Capacity:       67108864 bytes". */
export function parseVolInfo(stdout: string): VolumeInfo {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const bytes = (k: string) => int((kv.get(k) ?? '').split(/\s+/)[0] ?? '');
  return {
    name: kv.get('Name') ?? '',
    type: kv.get('Type') ?? '',
    capacityBytes: bytes('Capacity'),
    allocationBytes: bytes('Allocation'),
    format: '',
    path: '',
  };
}

/** `virsh vol-dumpxml`. */
export function parseVolXml(xml: string): VolumeInfo {
  const vol = parseXml(xml).volume as XNode | undefined;
  if (!vol) throw new Error('not a storage volume XML document');
  const target = child(vol, 'target');
  return {
    name: text(vol, 'name'),
    type: attr(vol, 'type'),
    capacityBytes: scaled(child(vol, 'capacity'), 'bytes'),
    allocationBytes: scaled(child(vol, 'allocation'), 'bytes'),
    format: attr(child(target, 'format'), 'type'),
    path: text(target, 'path'),
  };
}

export interface BlockInfo {
  capacityBytes: number;
  allocationBytes: number;
  physicalBytes: number;
}

/** `virsh domblkinfo DOM TARGET` (bytes, without --human). */
export function parseDomBlkInfo(stdout: string): BlockInfo {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const n = (k: string) => int(kv.get(k) ?? '');
  return { capacityBytes: n('Capacity'), allocationBytes: n('Allocation'), physicalBytes: n('Physical') };
}
