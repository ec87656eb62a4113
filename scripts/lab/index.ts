// The lab module's public surface: see ./README.md.
export { createLab, openLab, loadGuestImage, defaultSubnet, Lab, LabHost, GUEST_MANIFEST, type LabOptions, type DefinedGuest } from './lab.ts';
export { LabError, type RunOptions, type RunResult } from './exec.ts';
export { DRYDOCK_XMLNS, SERIAL_DIR, domainXml, resolveGuest, type GuestSpec, type GuestImage, type GuestDisk, type ResolvedGuest } from './guest.ts';
export { LAB_BOOT_ID_FILE, LOCAL_POOL_PATH, LIBVIRTD_PORT, PRIVATE_DIRS, libvirtdConf, qemuConf } from './libvirtd.ts';
export { parseSerialLogs, beatsOfBoot, gaps, type Heartbeat, type SerialRecord, type SerialKind } from './serial.ts';
export { DEFAULT_STATE_ROOT } from './state.ts';
export { setHostLink } from './network.ts';
