// The event log of operations: every event is a message on
// drydock.v1.ops.<id>.events in the DRYDOCK_OP_EVENTS JetStream stream, so
// every event is kept and WatchOperation can replay from any point and then
// follow live. An event's `seq` is its stream sequence: unique and ordered
// across leaders without a counter of our own.
import { consumerOpts, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { streams, subjects } from '../../common/subjects.ts';
import { retryTransient, type RetryPolicy } from '../store/retry.ts';
import { ensureStream } from '../store/streams.ts';
import type { OperationState, StepRecord } from './types.ts';

export type OperationEventType = 'state' | 'step' | 'progress' | 'message';

export interface OperationEventBody {
  operationId: string;
  atMs: number;
  type: OperationEventType;
  state: OperationState;
  stage: string;
  /** The step this event is about (type step/progress). */
  step?: StepRecord;
  message: string;
  done: number;
  total: number;
}

export interface OperationEvent extends OperationEventBody {
  seq: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export const TERMINAL_EVENT_STATES: ReadonlySet<OperationState> = new Set(['succeeded', 'failed', 'cancelled']);

export class OperationEventLog {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly retry: RetryPolicy,
  ) {}

  static async open(nc: NatsConnection | JetStreamClient, opts: { replicas: number; retry: RetryPolicy; timeoutMs?: number }): Promise<OperationEventLog> {
    const timeout = opts.timeoutMs ?? 5000;
    const js = 'jetstreamManager' in nc && 'publish' in nc && 'views' in nc ? (nc as JetStreamClient) : (nc as NatsConnection).jetstream({ timeout });
    const jsm = await js.jetstreamManager();
    // Operations are records an operator reads long after: keep 90 days.
    await ensureStream(jsm, { name: streams.opEvents.name, subjects: streams.opEvents.subjects, replicas: opts.replicas, maxAgeS: 90 * 24 * 3600 }, opts.retry);
    return new OperationEventLog(js, jsm, opts.retry);
  }

  /** Appends an event durably; returns its sequence. */
  async publish(body: OperationEventBody): Promise<number> {
    const ack = await retryTransient(
      `publish event of ${body.operationId}`,
      () => this.js.publish(subjects.opEvents(body.operationId), enc.encode(JSON.stringify(body))),
      this.retry,
    );
    return ack.seq;
  }

  /** Sequence of the operation's newest event (0 when none). */
  async lastSeq(operationId: string): Promise<number> {
    try {
      const m = await this.jsm.streams.getMessage(streams.opEvents.name, { last_by_subj: subjects.opEvents(operationId) });
      return m.seq;
    } catch {
      return 0;
    }
  }

  /**
   * Every event of the operation with seq >= fromSeq, then new ones as they
   * come; ends after an event in a terminal state, or when `signal` aborts.
   */
  async *watch(operationId: string, fromSeq: number, signal: AbortSignal): AsyncGenerator<OperationEvent> {
    // A push-based ordered consumer: flow-controlled, recreated by the client
    // on gaps, ephemeral (nothing to clean up on the server). The pull-based
    // ordered consumer of nats.js needs a newer server than Debian 12's 2.9.
    const opts = consumerOpts().orderedConsumer();
    if (fromSeq > 0) opts.startSequence(fromSeq);
    else opts.deliverAll();
    const sub = await this.js.subscribe(subjects.opEvents(operationId), opts);
    const stop = () => sub.unsubscribe();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const m of sub) {
        const ev: OperationEvent = { ...(JSON.parse(dec.decode(m.data)) as OperationEventBody), seq: m.seq };
        yield ev;
        if (ev.type === 'state' && TERMINAL_EVENT_STATES.has(ev.state)) return;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      sub.unsubscribe();
    }
  }
}
