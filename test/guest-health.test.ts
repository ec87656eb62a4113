// The verdict on a moved guest (agent/migrations/guest-health.ts): what the
// target's libvirt said in the watch window, judged per move mode.
import test from 'ava';
import { judgeGuest } from '../agent/migrations/guest-health.ts';
import type { GuestWatch } from '../agent/hypervisor/hypervisor.ts';

const ev = (event: string, detail = '') => ({ event, name: 'vs1', detail, atMs: 0 });
const watch = (over: Partial<GuestWatch>): GuestWatch => ({ events: [], state: 'SERVER_STATE_RUNNING', reason: 'migrated', ...over });

test('running (migrated) after a live move, running (booted) after a cold one: alive', (t) => {
  t.deepEqual(judgeGuest(watch({}), 'live'), { health: 'GUEST_HEALTH_ALIVE', detail: '' });
  t.is(judgeGuest(watch({ reason: 'booted', events: [ev('lifecycle', 'Started Booted')] }), 'cold').health, 'GUEST_HEALTH_ALIVE');
  t.is(judgeGuest(watch({ reason: 'unpaused', events: [ev('lifecycle', 'Resumed Migrated')] }), 'live').health, 'GUEST_HEALTH_ALIVE');
});

test('pvpanic: crashed (panicked), shut off (crashed), paused (panicked) and a Crashed event are crashes', (t) => {
  t.deepEqual(judgeGuest(watch({ state: 'SERVER_STATE_CRASHED', reason: 'panicked' }), 'live'), {
    health: 'GUEST_HEALTH_CRASHED',
    detail: 'crashed (panicked)',
  });
  t.is(judgeGuest(watch({ state: 'SERVER_STATE_SHUTOFF', reason: 'crashed' }), 'cold').health, 'GUEST_HEALTH_CRASHED');
  t.is(judgeGuest(watch({ state: 'SERVER_STATE_PAUSED', reason: 'panicked' }), 'live').health, 'GUEST_HEALTH_CRASHED');
  // on_crash restart: running again, but the event saw the crash.
  const v = judgeGuest(watch({ reason: 'booted', events: [ev('lifecycle', 'Crashed Panicked')] }), 'live');
  t.is(v.health, 'GUEST_HEALTH_CRASHED');
  t.is(v.detail, 'event Crashed Panicked; running (booted)');
  // Running again after the crash, its Crashed event missed and only the reboots seen (a lab run under load): still a crash.
  const missed = judgeGuest(watch({ reason: 'crashed', events: [ev('reboot'), ev('reboot')] }), 'live');
  t.is(missed.health, 'GUEST_HEALTH_CRASHED');
  t.is(missed.detail, 'running (crashed); reboot event; reboot event');
});

test('a reboot (event, or booted after a live move) is a reboot; booted after a cold move is not', (t) => {
  t.deepEqual(judgeGuest(watch({ events: [ev('reboot')] }), 'live'), { health: 'GUEST_HEALTH_REBOOTED', detail: 'reboot event' });
  t.is(judgeGuest(watch({ reason: 'booted', events: [ev('reboot')] }), 'cold').health, 'GUEST_HEALTH_REBOOTED');
  t.is(judgeGuest(watch({ reason: 'booted' }), 'live').health, 'GUEST_HEALTH_REBOOTED');
  t.is(judgeGuest(watch({ reason: 'booted' }), 'cold').health, 'GUEST_HEALTH_ALIVE');
});

test('not running for another reason is stopped; gone is unknown', (t) => {
  t.deepEqual(judgeGuest(watch({ state: 'SERVER_STATE_SHUTOFF', reason: 'shutdown' }), 'live'), {
    health: 'GUEST_HEALTH_STOPPED',
    detail: 'shut off (shutdown)',
  });
  t.is(judgeGuest(watch({ state: null, reason: '' }), 'live').health, 'GUEST_HEALTH_UNKNOWN');
});
