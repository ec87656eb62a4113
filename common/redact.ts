// Secrets never reach a log line or an error message: user-info in URLs
// (nats://user:password@host, nats://token@host) and bearer tokens in text.
// Call sites that log URLs redact them (redactUrl); createLogger
// (common/logging.ts) also passes every line through redactText, so a URL
// inside an error message is covered too.

/** scheme://<user-info>@ — the user-info is everything up to '@' that holds no '/', whitespace or another '@'. */
const USERINFO_RE = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;
const BEARER_RE = /\b(bearer\s+)[^\s"',;]+/gi;

/** The text with every URL's user-info and every bearer token replaced by "***". */
export function redactText(text: string): string {
  if (!text.includes('@') && !/bearer/i.test(text)) return text;
  return text.replace(USERINFO_RE, '$1***@').replace(BEARER_RE, '$1***');
}

/** A URL (nats://user:pass@host:4222 → nats://***@host:4222). */
export function redactUrl(url: string): string {
  return redactText(url);
}

export function redactUrls(urls: readonly string[]): string[] {
  return urls.map(redactText);
}

/**
 * A log object with secrets removed from its strings (nested objects and
 * arrays down to a small depth; deeper values are left as they are, log
 * objects here are flat). Returns the same object when nothing changed.
 */
export function redactDeep<T>(value: T, depth = 4): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (depth <= 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = redactDeep(v, depth - 1);
      if (r !== v) changed = true;
      return r;
    });
    return (changed ? out : value) as T;
  }
  if (value instanceof Error) {
    const message = redactText(value.message);
    const stack = value.stack === undefined ? undefined : redactText(value.stack);
    if (message === value.message && stack === value.stack) return value;
    // The shape pino's error serializer gives, without the secret.
    return { type: value.name, message, ...(stack === undefined ? {} : { stack }) } as T;
  }
  // Other class instances (Buffers, Dates, ...) are serialised by pino itself.
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const r = redactDeep(v, depth - 1);
    if (r !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = r;
  }
  return (out ?? value) as T;
}
