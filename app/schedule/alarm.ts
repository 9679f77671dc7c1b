// What wakes the scheduler at a due instant. An alarm only says "look now":
// the scheduler reads what is due from the database (app/schedule/scheduler.ts),
// so an alarm that fires twice, late or never (a restart, a lost Redis) costs
// at most a delay until the next re-check, never a skipped or doubled change.
export interface Alarm {
  /** Wakes the handler at `at` (epoch ms on the scheduler's clock); an alarm already set for that instant is kept. */
  set(at: number): Promise<void>;
  /** Starts delivering wake-ups to `onAlarm`. */
  start(onAlarm: () => Promise<void>): void;
  close(): Promise<void>;
}

/** The longest delay setTimeout keeps (about 24.8 days); a later instant is re-armed by the re-check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The embedded mode's alarm: one in-process timer for the earliest instant
 * asked for. It dies with the process; the next start re-arms it from the
 * database.
 */
export function createTimerAlarm(now: () => number): Alarm {
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Infinity;
  let handler: (() => Promise<void>) | undefined;
  return {
    async set(at) {
      if (at >= armedFor) return;
      clearTimeout(timer);
      armedFor = at;
      timer = setTimeout(
        () => {
          armedFor = Infinity;
          void handler?.();
        },
        Math.min(Math.max(0, at - now()), MAX_TIMER_MS),
      );
      timer.unref();
    },
    start(onAlarm) {
      handler = onAlarm;
    },
    async close() {
      clearTimeout(timer);
      handler = undefined;
    },
  };
}
