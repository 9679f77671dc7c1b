import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTimerAlarm } from './alarm';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 5 s, a loaded machine is slow) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 10) {
    if (waited > 5000) throw new Error('the alarm never woke the handler');
    await sleep(10);
  }
}

describe('the embedded timer alarm', () => {
  it('wakes the handler at the instant asked for, on the clock it was given', async () => {
    const offset = 3600_000;
    const alarm = createTimerAlarm(() => Date.now() + offset);
    const woken: number[] = [];
    alarm.start(async () => void woken.push(Date.now()));
    const asked = Date.now();
    await alarm.set(Date.now() + offset + 80);
    await sleep(30);
    assert.equal(woken.length, 0, 'not before its time');
    await until(() => woken.length === 1);
    assert.ok(woken[0] - asked >= 70);
    await alarm.close();
  });

  it('keeps the earliest instant: a later one does not push it back, an earlier one replaces it', async () => {
    const alarm = createTimerAlarm(Date.now);
    let woken = 0;
    alarm.start(async () => void woken++);
    await alarm.set(Date.now() + 60);
    await alarm.set(Date.now() + 10_000);
    await until(() => woken === 1);
    await alarm.set(Date.now() + 10_000);
    await alarm.set(Date.now() + 40);
    await until(() => woken === 2);
    await alarm.close();
  });

  it('wakes nobody once closed', async () => {
    const alarm = createTimerAlarm(Date.now);
    let woken = 0;
    alarm.start(async () => void woken++);
    await alarm.set(Date.now() + 30);
    await alarm.close();
    await sleep(100);
    assert.equal(woken, 0);
  });
});
