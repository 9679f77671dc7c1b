// The only fake in the scheduler's tests: a clock that follows real time
// plus an offset the test advances (timers, sockets and servers stay real).
export interface FakeClock {
  now(): number;
  advance(ms: number): void;
}

export function fakeClock(): FakeClock {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}
