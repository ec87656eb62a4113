// Types of pki.mjs (see there).
export declare const DEFAULT_PKI_DIR: string;
export interface PkiOptions {
  /** The PKI directory (default .cache/pki). */
  dir?: string;
}
export interface IssuedCert {
  certFile: string;
  keyFile: string;
  /** The CA certificate that signed it (and that peers verify against). */
  caFile: string;
}
export declare function ensureLabCa(opts?: PkiOptions): Promise<{ dir: string; caFile: string; caKeyFile: string }>;
export declare function ensureHostCert(hostId: string, opts?: PkiOptions): Promise<IssuedCert>;
export declare function ensureCoordinatorCert(opts?: PkiOptions): Promise<IssuedCert>;
