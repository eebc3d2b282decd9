/**
 * The real clock. Parts take a clock (`ClockSource` in gateway/model.ts) rather than calling
 * `Date.now()`, so soak tests can accelerate time; this is the one they get in production.
 * Typed structurally: lib/ stands alone and imports nothing of the product.
 */
export const systemClock: { now(): number } = { now: () => Date.now() };
