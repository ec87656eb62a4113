// Opening the coordinator's append-only JetStream streams (audit, operation
// events): created on first use with the state's replicas, left as they are
// when they exist. Idempotent, so every instance runs it at start.
import { RetentionPolicy, StorageType, type JetStreamManager } from 'nats';
import { retryTransient, type RetryPolicy } from './retry.ts';

/** JetStream API error code: stream not found. */
const JS_STREAM_NOT_FOUND = 10059;

export interface StreamSpec {
  name: string;
  subjects: readonly string[];
  replicas: number;
  /** Oldest messages go after this long (seconds). */
  maxAgeS: number;
  /** Bound by count (a byte limit would reserve its size up front); 0 = none. */
  maxMsgs?: number;
}

export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, retry: RetryPolicy): Promise<void> {
  await retryTransient(`open stream ${spec.name}`, async () => {
    try {
      await jsm.streams.info(spec.name);
    } catch (err) {
      if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== JS_STREAM_NOT_FOUND) throw err;
      await jsm.streams.add({
        name: spec.name,
        subjects: [...spec.subjects],
        num_replicas: spec.replicas,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        max_age: spec.maxAgeS * 1e9,
        ...(spec.maxMsgs ? { max_msgs: spec.maxMsgs } : {}),
      });
    }
  }, retry);
}
