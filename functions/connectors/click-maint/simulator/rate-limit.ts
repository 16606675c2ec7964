/**
 * The rate limit: a FIXED window aligned to the epoch, in real wall-clock time, per simulator; the
 * `X-RateLimit-*` headers on every counted answer and `retry-after` on a 429.
 */
import { SimulatorInputError } from './responses.ts';
import type { ClickMaintWorld } from './state.ts';
import { isNumber, isObject } from './validation.ts';

export function rateHeaders(world: ClickMaintWorld, nowMs: number): Record<string, string> {
  const { rateLimit, window } = world;
  const windowMs = rateLimit.windowSeconds * 1000;
  const endMs = window.startMs + windowMs;
  return {
    'x-ratelimit-limit': String(rateLimit.limit),
    'x-ratelimit-remaining': String(Math.max(0, rateLimit.limit - window.counted)),
    'x-ratelimit-reset': String(Math.ceil(endMs / 1000)),
    ...(window.counted > rateLimit.limit
      ? { 'retry-after': String(Math.max(1, Math.ceil((endMs - nowMs) / 1000))) }
      : {}),
  };
}

export function rollWindow(world: ClickMaintWorld, nowMs: number): void {
  const windowMs = world.rateLimit.windowSeconds * 1000;
  const startMs = Math.floor(nowMs / windowMs) * windowMs;
  if (startMs !== world.window.startMs) world.window = { startMs, counted: 0, accepted: 0 };
}

/** New limits start a new window. */
export function setRateLimit(world: ClickMaintWorld, value: { limit: number; windowSeconds: number }): void {
  if (
    !isObject(value) ||
    !Number.isInteger(value.limit) ||
    value.limit < 1 ||
    !isNumber(value.windowSeconds) ||
    value.windowSeconds <= 0
  ) {
    throw new SimulatorInputError(400, 'rateLimit must be {limit: integer >= 1, windowSeconds: number > 0}');
  }
  world.rateLimit = { limit: value.limit, windowSeconds: value.windowSeconds };
  world.window = { startMs: 0, counted: 0, accepted: 0 };
}
