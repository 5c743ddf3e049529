/**
 * The one fake clock of the tests (and benchmarks): real time plus an offset that the test moves
 * forward. Hand `now` to the app (AppOptions.now), the stand-ins and the stores alike, so tokens
 * age, leases lapse and backs-off end without waiting. Real time still passes underneath, so
 * timers and waits inside the code keep working.
 */
export interface TestClock {
  /** A function of its own (no `this`): hand it around as it is. */
  now: () => number;
  /** Moves this clock (not Date.now) forward by `ms`. */
  advance: (ms: number) => void;
}

export function testClock(): TestClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms: number) => {
      offset += ms;
    },
  };
}

/**
 * The refresh lock's lease, renewal and longest wait (src/session/connections/), a fifth of
 * the real ones and in the same ratios, for tests that run the lease logic through the `timing`
 * test hook (AppOptions.timing, ConnectionOptions.timing) instead of waiting seconds.
 */
export function scaledLockTiming(real: { lockLeaseMs: number; lockRenewMs: number; refreshWaitMs: number }) {
  return {
    lockLeaseMs: real.lockLeaseMs / 5,
    lockRenewMs: real.lockRenewMs / 5,
    refreshWaitMs: real.refreshWaitMs / 5,
  };
}
