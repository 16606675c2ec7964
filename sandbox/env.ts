/**
 * The environment variables `npm start` reads, validated like the config: a typo
 * (`MILLWRIGHT_VENDORS=rael`) or a bad number fails at start naming the variable, instead of
 * quietly falling back to a default (or, for a poll interval of NaN, polling in a tight loop).
 */
import * as z from 'zod/mini';
import { ConfigError } from '../functions/core/errors.ts';
import { checkStrict } from '../functions/core/schema.ts';

const number = (min: number, max: number) =>
  z.pipe(
    z.string().check(z.regex(/^\d+(\.\d+)?$/, 'must be a number')),
    z.pipe(
      z.transform((v: string) => Number(v)),
      z.number().check(z.gte(min), z.lte(max)),
    ),
  );

const sandboxEnvSchema = z.object({
  MILLWRIGHT_CONFIG: z._default(z.string().check(z.minLength(1)), 'config/default.json'),
  MILLWRIGHT_SANDBOX_PORT: z._default(number(0, 65_000), 8900),
  MILLWRIGHT_POLL_SECONDS: z._default(number(1, 86_400), 10),
  MILLWRIGHT_VENDORS: z._default(z.enum(['simulated', 'real']), 'simulated'),
  MILLWRIGHT_LOG_LEVEL: z._default(
    z.pipe(
      z.transform((v: string) => v.toLowerCase()),
      z.enum(['debug', 'info', 'warn', 'error']),
    ),
    'info',
  ),
});
export type SandboxEnv = z.output<typeof sandboxEnvSchema>;

export function readSandboxEnv(env: NodeJS.ProcessEnv = process.env): SandboxEnv {
  const picked = Object.fromEntries(
    Object.keys(sandboxEnvSchema.shape)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const { data, problems } = checkStrict(sandboxEnvSchema, picked);
  const [first] = problems;
  if (data === undefined || first) {
    throw new ConfigError(first?.path ?? '', first?.message ?? 'invalid', {
      what: 'environment variables',
      problems,
    });
  }
  return data;
}
