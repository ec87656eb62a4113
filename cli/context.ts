// What a command action works with: the process's streams, the parsed global
// flags, a lazily built admin client, and the output helpers (human text or
// the API object with --json). Commands never reach for process.* directly.
import { AdminApi } from './client.ts';
import type { ErrorContext } from './exit.ts';
import { resolveSettings, DEFAULT_ADDRESS, type ConnectionFlags } from './settings.ts';
import { decideTransport } from './transport.ts';

export interface CliIo {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C while an operation is followed. */
  interrupt: AbortSignal;
}

export interface GlobalFlags extends ConnectionFlags {
  json?: boolean;
}

/** What an action gets: the parsed globals, a lazily built client, output helpers. */
export class Ctx {
  #api: AdminApi | undefined;
  errorContext: Omit<ErrorContext, 'address' | 'timeoutMs'> = {};

  constructor(
    readonly io: CliIo,
    readonly flags: GlobalFlags,
  ) {}

  get json(): boolean {
    return Boolean(this.flags.json);
  }

  get api(): AdminApi {
    if (!this.#api) {
      const settings = resolveSettings(this.flags, this.io.env);
      if (decideTransport(settings).insecure) {
        this.io.err.write(
          `drydock: WARNING: --insecure: the bearer token is sent to ${settings.address} without TLS; anyone on the path can read and reuse it\n`,
        );
      }
      this.#api = new AdminApi(settings);
    }
    return this.#api;
  }

  /** Address for error advice, without failing if settings are broken. */
  get address(): string {
    try {
      return this.#api?.settings.address ?? resolveSettings(this.flags, this.io.env).address;
    } catch {
      return this.flags.address ?? DEFAULT_ADDRESS;
    }
  }

  get timeoutMs(): number {
    return this.#api?.settings.timeoutMs ?? 30_000;
  }

  get tls(): boolean {
    return Boolean(this.#api?.settings.caFile);
  }

  print(text: string): void {
    this.io.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The proto object, 2-space indented, keys in proto field order. */
  printJson(value: unknown): void {
    this.io.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Human text, or the object itself with --json. */
  show(value: unknown, human: () => string): void {
    if (this.json) this.printJson(value);
    else this.print(human());
  }

  close(): void {
    this.#api?.close();
  }
}
