/** `npm start`'s environment variables are validated like the config, naming the variable. */
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../../functions/core/errors.ts';
import { readSandboxEnv } from '../../../sandbox/env.ts';

describe('npm start environment', () => {
  it('has defaults for everything', () => {
    expect(readSandboxEnv({})).toEqual({
      MILLWRIGHT_CONFIG: 'config/default.json',
      MILLWRIGHT_SANDBOX_PORT: 8900,
      MILLWRIGHT_POLL_SECONDS: 10,
      MILLWRIGHT_VENDORS: 'simulated',
      MILLWRIGHT_LOG_LEVEL: 'info',
    });
  });

  it('reads each variable, log levels in any case', () => {
    expect(
      readSandboxEnv({
        MILLWRIGHT_SANDBOX_PORT: '0',
        MILLWRIGHT_POLL_SECONDS: '2.5',
        MILLWRIGHT_VENDORS: 'real',
        MILLWRIGHT_LOG_LEVEL: 'WARN',
        UNRELATED: 'x',
      }),
    ).toMatchObject({
      MILLWRIGHT_SANDBOX_PORT: 0,
      MILLWRIGHT_POLL_SECONDS: 2.5,
      MILLWRIGHT_VENDORS: 'real',
      MILLWRIGHT_LOG_LEVEL: 'warn',
    });
  });

  it('refuses a typo or a bad number, naming every variable at once', () => {
    let error: unknown;
    try {
      readSandboxEnv({
        MILLWRIGHT_VENDORS: 'rael',
        MILLWRIGHT_POLL_SECONDS: 'abc',
        MILLWRIGHT_LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.path).sort()).toEqual([
      'MILLWRIGHT_LOG_LEVEL',
      'MILLWRIGHT_POLL_SECONDS',
      'MILLWRIGHT_VENDORS',
    ]);
    expect((error as Error).message).toContain('MILLWRIGHT_POLL_SECONDS: must be a number');
  });

  it('refuses a poll interval of 0 (it would poll in a tight loop)', () => {
    expect(() => readSandboxEnv({ MILLWRIGHT_POLL_SECONDS: '0' })).toThrow(
      'MILLWRIGHT_POLL_SECONDS: must be >= 1',
    );
  });
});
