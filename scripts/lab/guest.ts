// Lab guests: TCG domains booting the cached Debian kernel and busybox
// initramfs (scripts/guest/), with drydock's metadata element, a file serial
// console and optionally a disk in the host's `local` pool or the shared dir.
import { randomUUID } from 'node:crypto';
import { assertDomainName, assertUuid } from '../../common/names.ts';
import { LabError } from './exec.ts';
import { LOCAL_POOL_PATH } from './libvirtd.ts';

export const DRYDOCK_XMLNS = 'https://drydock.dev/xmlns/server/1';
/** Inside every host's private /var/log/libvirt, so each host keeps its own log of a guest. */
export const SERIAL_DIR = '/var/log/libvirt/qemu';

export interface GuestSpec {
  /** libvirt domain name: letters, digits, '_', '-', '.'. */
  name: string;
  /** Random if omitted. */
  uuid?: string;
  /** Guest RAM (default 128). The kernel and init need ~96 MiB besides the fill. */
  memoryMiB?: number;
  /** RAM the guest fills with random data and keeps dirtying at ~1 MiB/s (default 32). */
  fillMiB?: number;
  vcpus?: number;
  /** drydock metadata: may move live (default true). */
  hotMigration?: boolean;
  /** drydock metadata: a smart server, always moved cold (default false). */
  smart?: boolean;
  /** qcow2 disk in the host's private `local` pool (vda); the guest keeps writing a counter to it. */
  localDiskMiB?: number;
  /** qcow2 disk in the lab's shared directory (vda, or vdb with a local disk too). */
  sharedDiskMiB?: number;
  /** Start after defining (default true). */
  start?: boolean;
}

export interface GuestImage {
  kernel: string;
  initrd: string;
  cmdline: string;
}

export interface GuestDisk {
  /** Path as the guest's host sees it. */
  path: string;
  target: string;
  pool: 'local' | 'shared';
  sizeMiB: number;
}

export interface ResolvedGuest {
  name: string;
  uuid: string;
  memoryMiB: number;
  fillMiB: number;
  vcpus: number;
  hotMigration: boolean;
  smart: boolean;
  disks: GuestDisk[];
  /** Serial log path inside the host (per host; see Lab.serialLogPath for the root-namespace path). */
  serialPath: string;
  start: boolean;
}

function positiveInt(field: string, v: number | undefined, dflt: number, { min = 1, max = 65536 } = {}): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min || n > max) throw new LabError(`guest ${field}: ${n} is not an integer in [${min}, ${max}]`);
  return n;
}

export function resolveGuest(spec: GuestSpec, sharedDir: string): ResolvedGuest {
  const name = assertDomainName('name', spec.name);
  const memoryMiB = positiveInt('memoryMiB', spec.memoryMiB, 128, { min: 64 });
  // The kernel, initramfs and page cache need ~90 MiB besides the fill
  // (128 MiB with a 100 MiB fill dies of OOM at boot).
  const maxFill = Math.max(0, memoryMiB - 96);
  const fillMiB = positiveInt('fillMiB', spec.fillMiB, Math.min(32, maxFill), { min: 0 });
  if (fillMiB > maxFill) throw new LabError(`guest ${name}: fillMiB ${fillMiB} leaves too little of ${memoryMiB} MiB for the kernel (at most ${maxFill})`);
  const disks: GuestDisk[] = [];
  const target = () => `vd${String.fromCharCode(97 + disks.length)}`;
  if (spec.localDiskMiB !== undefined) {
    const sizeMiB = positiveInt('localDiskMiB', spec.localDiskMiB, 0);
    disks.push({ path: `${LOCAL_POOL_PATH}/${name}.qcow2`, target: target(), pool: 'local', sizeMiB });
  }
  if (spec.sharedDiskMiB !== undefined) {
    const sizeMiB = positiveInt('sharedDiskMiB', spec.sharedDiskMiB, 0);
    disks.push({ path: `${sharedDir}/${name}.qcow2`, target: target(), pool: 'shared', sizeMiB });
  }
  return {
    name,
    uuid: spec.uuid ? assertUuid('uuid', spec.uuid) : randomUUID(),
    memoryMiB,
    fillMiB,
    vcpus: positiveInt('vcpus', spec.vcpus, 1, { max: 8 }),
    hotMigration: spec.hotMigration ?? true,
    smart: spec.smart ?? false,
    disks,
    serialPath: `${SERIAL_DIR}/${name}.serial.log`,
    start: spec.start ?? true,
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/**
 * The domain of a lab guest. A guest kernel panic reaches libvirt through the
 * ISA pvpanic device (the guest loads pvpanic_mmio,
 * scripts/guest/build-image.mjs): libvirt emits a Crashed event and, with
 * <on_crash>restart</on_crash>, resets the guest and says "running (crashed)"
 * instead of the reason it had (seen in test/guest-crash-lab.test.ts). The guest's own panic=-1 reboot alone would
 * be invisible in libvirt's state (a reboot event only).
 */
export function domainXml(g: ResolvedGuest, image: GuestImage): string {
  const disks = g.disks
    .map(
      (d) => `    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${esc(d.path)}'/>
      <target dev='${d.target}' bus='virtio'/>
    </disk>
`,
    )
    .join('');
  return `<domain type='qemu'>
  <name>${esc(g.name)}</name>
  <uuid>${g.uuid}</uuid>
  <metadata>
    <drydock:server xmlns:drydock="${DRYDOCK_XMLNS}" hot_migration="${g.hotMigration}" smart="${g.smart}"/>
  </metadata>
  <memory unit='MiB'>${g.memoryMiB}</memory>
  <currentMemory unit='MiB'>${g.memoryMiB}</currentMemory>
  <vcpu>${g.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${esc(image.kernel)}</kernel>
    <initrd>${esc(image.initrd)}</initrd>
    <cmdline>${esc(`${image.cmdline} drydock.fill=${g.fillMiB}`)}</cmdline>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='custom' match='exact'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
${disks}    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='${esc(g.serialPath)}' append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
    <panic model='isa'>
      <address type='isa' iobase='0x505'/>
    </panic>
  </devices>
</domain>
`;
}
