// Opening the coordinator's append-only JetStream streams (audit, operation
// events): created on first use with the state's replicas; when they exist,
// their limits (age, count, bytes) are brought to the spec's and the rest is
// left as it is. Idempotent, so every instance runs it at start.
import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from 'nats';
import { retryTransient, type RetryPolicy } from './retry.ts';

/** JetStream API error code: stream not found. */
const JS_STREAM_NOT_FOUND = 10059;

export interface StreamSpec {
  name: string;
  subjects: readonly string[];
  replicas: number;
  /** Oldest messages go after this long (seconds). */
  maxAgeS: number;
  /** Bound by count; 0 = none. */
  maxMsgs?: number;
  /**
   * Bound by size (bytes); 0 = none. JetStream reserves it against the
   * server's (or account's) storage limit when the stream is created.
   */
  maxBytes?: number;
}

/** The spec's limits in JetStream terms (-1 = unlimited); discard old: the newest entry always gets in. */
function limitsOf(spec: StreamSpec): Pick<StreamConfig, 'max_age' | 'max_msgs' | 'max_bytes' | 'discard'> {
  return { max_age: spec.maxAgeS * 1e9, max_msgs: spec.maxMsgs || -1, max_bytes: spec.maxBytes || -1, discard: DiscardPolicy.Old };
}

export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, retry: RetryPolicy): Promise<void> {
  const limits = limitsOf(spec);
  await retryTransient(
    `open stream ${spec.name}`,
    async () => {
      let config: StreamConfig;
      try {
        config = (await jsm.streams.info(spec.name)).config;
      } catch (err) {
        if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== JS_STREAM_NOT_FOUND) throw err;
        await jsm.streams.add({
          name: spec.name,
          subjects: [...spec.subjects],
          num_replicas: spec.replicas,
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          ...limits,
        });
        return;
      }
      // A stream made before a limit existed (or with other values) gets the configured ones.
      const stale = (Object.keys(limits) as (keyof typeof limits)[]).some((k) => (config[k] ?? -1) !== limits[k]);
      if (stale) await jsm.streams.update(spec.name, { ...config, ...limits });
    },
    retry,
  );
}
