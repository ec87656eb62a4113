// Types of identity.mjs (see there).
export declare const HOST_IDENTITY_PREFIX: string;
export declare const COORDINATOR_IDENTITY: string;
export declare function hostIdentity(hostId: string): string;
