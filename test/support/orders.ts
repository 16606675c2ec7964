/** Delivery orders for the reordering tests: what a standard SQS queue and vendor resends can produce. */

/** Every order of `items` (n! of them: 4 items give 24, 5 give 120). */
export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/**
 * Every 5th order of `items` and the last (the reverse order): each item still comes first, last
 * and in between, at a fifth of the time of all of them (for tests against the real engine).
 */
export function someOrders<T>(items: readonly T[]): T[][] {
  const all = permutations(items);
  return all.filter((_, i) => i % 5 === 0 || i === all.length - 1);
}
