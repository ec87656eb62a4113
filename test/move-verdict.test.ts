// The one rule "is this move complete" (common/move-verdict.ts), case by
// case: source runs / is defined shut off / is absent × target running /
// shut off / absent × the power state the move must keep.
import test from 'ava';
import { moveVerdict, type Presence } from '../common/move-verdict.ts';

const RUN = 'SERVER_STATE_RUNNING' as const;
const OFF = 'SERVER_STATE_SHUTOFF' as const;
const NONE = null;

type Row = [source: Presence, target: Presence, expectRunning: boolean, complete: boolean, stale: 'source' | 'target' | null];

// prettier-ignore
const TABLE: Row[] = [
  // source  target  expect  complete stale
  [RUN,      RUN,    true,   false,   null],      // running twice: never a move, never cleaned
  [RUN,      RUN,    false,  false,   null],
  [RUN,      OFF,    true,   false,   'target'],  // the defect: a refused attempt and a stale copy on the target
  [RUN,      OFF,    false,  false,   'target'],
  [RUN,      NONE,   true,   false,   null],      // not moved
  [RUN,      NONE,   false,  false,   null],
  [OFF,      RUN,    true,   false,   'source'],  // runs on the target; the source's definition is stale
  [OFF,      RUN,    false,  false,   'source'],
  [OFF,      OFF,    true,   false,   null],      // neither runs: which copy is current cannot be told
  [OFF,      OFF,    false,  false,   null],
  [OFF,      NONE,   true,   false,   null],      // not moved (stopped, or never started)
  [OFF,      NONE,   false,  false,   null],
  [NONE,     RUN,    true,   true,    null],      // moved, running as it was
  [NONE,     RUN,    false,  false,   null],      // moved but running, expected shut off
  [NONE,     OFF,    true,   false,   null],      // moved but not started (cold move cut short)
  [NONE,     OFF,    false,  true,    null],      // moved, shut off as it was
  [NONE,     NONE,   true,   false,   null],      // lost
  [NONE,     NONE,   false,  false,   null],
];

const name = (p: Presence) => (p === null ? 'absent' : p === undefined ? 'silent' : p.replace('SERVER_STATE_', '').toLowerCase());

for (const [source, target, expectRunning, complete, stale] of TABLE) {
  test(`source ${name(source)}, target ${name(target)}, expected ${expectRunning ? 'running' : 'shut off'}: ${complete ? 'complete' : 'not complete'}${stale ? `, stale copy on the ${stale}` : ''}`, (t) => {
    const v = moveVerdict({ source, target, expectRunning, sourceHostId: 'h1', targetHostId: 'h2' });
    t.true(v.known);
    t.is(v.complete, complete, v.reason);
    t.is(v.stale, stale, v.reason);
    t.regex(v.reason, complete ? /moved/ : /h1|h2/);
  });
}

test('a host that did not answer: nothing is concluded, whatever the other says', (t) => {
  for (const [source, target] of [
    [undefined, RUN],
    [undefined, NONE],
    [RUN, undefined],
    [NONE, undefined],
    [undefined, undefined],
  ] as [Presence, Presence][]) {
    const v = moveVerdict({ source, target, expectRunning: true, sourceHostId: 'h1', targetHostId: 'h2' });
    t.deepEqual([v.known, v.complete, v.stale], [false, false, null]);
    t.regex(v.reason, /did not answer/);
  }
});

test('paused counts as running (a paused guest moves paused); crashed and unspecified are never taken for a running copy', (t) => {
  const v = (source: Presence, target: Presence, expectRunning = true) =>
    moveVerdict({ source, target, expectRunning, sourceHostId: 'h1', targetHostId: 'h2' });
  t.true(v(NONE, 'SERVER_STATE_PAUSED').complete);
  t.is(v('SERVER_STATE_PAUSED', OFF).stale, 'target');
  t.false(v(NONE, 'SERVER_STATE_UNSPECIFIED').complete, 'an unknown state proves no move');
  t.false(v(NONE, 'SERVER_STATE_UNSPECIFIED', false).complete);
  t.is(v(OFF, 'SERVER_STATE_UNSPECIFIED').stale, null, 'a copy is stale only beside one that runs');
  // A crashed domain may still hold its guest (on_crash=preserve): never cleaned as stale.
  t.is(v('SERVER_STATE_CRASHED', RUN).stale, null);
  t.is(v(RUN, 'SERVER_STATE_CRASHED').stale, null);
  t.true(v(NONE, 'SERVER_STATE_CRASHED', false).complete, 'a crashed server moved cold arrives shut off');
});
