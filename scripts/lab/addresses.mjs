// The lab's address plan, in one place: labs live in 10.99.0.0/16, lab N in
// 10.99.N.0/24, and the root namespace's end of a lab is the veth
// `<name>lab-rt`. Plain JavaScript: set-up's prerequisite check reads it
// before npm packages exist.

/** Every lab address is inside this network; no route of the machine may cover it (scripts/prerequisites.mjs). */
export const LAB_NETWORK_CIDR = '10.99.0.0/16';

/** The first two octets of every lab address. */
export const LAB_NETWORK_PREFIX = '10.99';

/** Root-namespace veth of a lab named <name> (a-z0-9, at most 6). */
export const LAB_ROOT_VETH_RE = /^[a-z][a-z0-9]{0,5}lab-rt$/;

/** @param {number} subnet third octet */
export const subnetCidr = (subnet) => `${LAB_NETWORK_PREFIX}.${subnet}.0/24`;

/** @param {number} subnet @param {number} host last octet */
export const labAddress = (subnet, host) => `${LAB_NETWORK_PREFIX}.${subnet}.${host}`;
