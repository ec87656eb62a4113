// The pure disk path rules both hypervisors apply (agent/hypervisor/disk-paths.ts):
// which storage a file is on, which pool volume it is, and what removing a
// local disk deletes. The libvirt side runs against real libvirt in
// libvirt-hypervisor.test.ts (lab), the sim side in agent-sim.test.ts.
import test from 'ava';
import { diskUsesPath, planLocalDiskRemoval, poolContaining, poolHolding, type PoolPlace } from '../agent/hypervisor/disk-paths.ts';

const images: PoolPlace = { name: 'images', path: '/images', shared: false };
const tenant: PoolPlace = { name: 'tenant', path: '/images/tenant-b', shared: false };
const nfs: PoolPlace = { name: 'nfs', path: '/mnt/nfs', shared: true };
const where = { pools: [images, tenant, nfs], sharedPaths: ['/shared'] };

test("a file in a subdirectory of a pool is on that pool's storage, but no volume of it", (t) => {
  t.is(poolContaining('/images/tenant-a/disk.qcow2', [images])?.name, 'images');
  t.is(poolHolding('/images/tenant-a/disk.qcow2', [images]), undefined);
  t.is(poolHolding('/images/disk.qcow2', [images])?.name, 'images');
  t.is(poolHolding('/images/tenant-b/disk.qcow2', [images, tenant])?.name, 'tenant');
  t.is(poolContaining('/images2/disk.qcow2', [images]), undefined, '/images2 is not under /images');
});

test('removing images/tenant-a/disk.qcow2 deletes that file, never images/disk.qcow2 (the pool volume of the same base name)', (t) => {
  t.deepEqual(planLocalDiskRemoval('/images/tenant-a/disk.qcow2', where), { kind: 'file', path: '/images/tenant-a/disk.qcow2' });
  t.deepEqual(planLocalDiskRemoval('/images/disk.qcow2', where), { kind: 'volume', pool: 'images', path: '/images/disk.qcow2' });
  t.deepEqual(planLocalDiskRemoval('/images/tenant-b/disk.qcow2', where), { kind: 'volume', pool: 'tenant', path: '/images/tenant-b/disk.qcow2' });
  t.deepEqual(planLocalDiskRemoval('/images/tenant-b/deeper/disk.qcow2', where), { kind: 'file', path: '/images/tenant-b/deeper/disk.qcow2' });
  // Whatever the plan, it names exactly the path it was given.
  for (const p of ['/images/a', '/images/x/a', '/images/tenant-b/a', '/images/tenant-b/x/y/a', '/images/a.qcow2.bak']) {
    t.is(planLocalDiskRemoval(p, where).path, p);
  }
});

test('removal is refused off local storage and for odd paths', (t) => {
  const code = (f: () => unknown) => t.throws(f)?.name;
  t.is(
    code(() => planLocalDiskRemoval('/etc/libvirt/qemu.conf', where)),
    'InvalidArgumentError',
  );
  t.is(
    code(() => planLocalDiskRemoval('/images2/disk.qcow2', where)),
    'InvalidArgumentError',
  );
  t.is(
    code(() => planLocalDiskRemoval('/images/tenant-a/../disk.qcow2', where)),
    'InvalidArgumentError',
  );
  t.is(
    code(() => planLocalDiskRemoval('images/disk.qcow2', where)),
    'InvalidArgumentError',
  );
  // On shared storage, at any depth: the file is the server's wherever it runs.
  const wide = { ...where, allowedDirs: ['/'] };
  t.is(
    code(() => planLocalDiskRemoval('/mnt/nfs/sub/disk.qcow2', wide)),
    'FailedPreconditionError',
  );
  t.is(
    code(() => planLocalDiskRemoval('/shared/sub/disk.qcow2', wide)),
    'FailedPreconditionError',
  );
  t.deepEqual(planLocalDiskRemoval('/srv/disk.qcow2', wide), { kind: 'file', path: '/srv/disk.qcow2' });
});

test('a disk uses a path only when it names that very file (spelled differently or not)', (t) => {
  t.true(diskUsesPath('/images/disk.qcow2', '/images/disk.qcow2'));
  t.true(diskUsesPath('/images//tenant-a/./disk.qcow2', '/images/tenant-a/disk.qcow2'), 'a domain XML path need not be normalized');
  t.false(diskUsesPath('/images/disk.qcow2', '/images/tenant-a/disk.qcow2'));
  t.false(diskUsesPath('', '/images/disk.qcow2'));
});
