/** Shared by the Deepomatic unit tests: a simulator on a manual clock and clients wired to it. */
import {
  DeepomaticClient,
  type DeepomaticClientOptions,
} from '../../../functions/connectors/deepomatic/client.ts';
import {
  type DeepomaticConfigInput,
  parseDeepomaticConfig,
} from '../../../functions/connectors/deepomatic/config.ts';
import {
  type DeepomaticSimulator,
  type DeepomaticSimulatorOptions,
  startDeepomaticSimulator,
} from '../../../functions/connectors/deepomatic/simulator/index.ts';
import { type Clock, manualClock } from '../../../sandbox/clock.ts';

export const SECRET_NAME = 'millwright/deepomatic';
export const API_KEY = 'dm-key-5c1e9a7b3d-never-log-me';
export const ENGINEER = 'tech@plant.example';
export const T0 = '2026-11-02T08:00:00.000Z';

export interface Harness {
  sim: DeepomaticSimulator;
  clock: Clock;
  /** What fake sleeps were asked to wait. */
  delays: number[];
  client(
    options?: Partial<Omit<DeepomaticClientOptions, 'config'>> & { config?: Partial<DeepomaticConfigInput> },
  ): DeepomaticClient;
  /** A raw call to the simulator (control routes, or API calls the client would refuse to make). */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: unknown }>;
}

export async function startHarness(simOptions: Partial<DeepomaticSimulatorOptions> = {}): Promise<Harness> {
  const clock = simOptions.clock ?? manualClock(T0);
  const sim = await startDeepomaticSimulator({ clock, apiKey: API_KEY, ...simOptions });
  const delays: number[] = [];
  return {
    sim,
    clock,
    delays,
    client: (options = {}) => {
      const { config, http, ...rest } = options;
      return new DeepomaticClient({
        config: parseDeepomaticConfig({ baseUrl: `${sim.url}/v0.2`, secretName: SECRET_NAME, ...config }),
        loadApiKey: async () => API_KEY,
        ...rest,
        http: {
          timeoutMs: 1_000,
          random: () => 0.5,
          sleep: async (ms) => {
            delays.push(ms);
          },
          ...http,
        },
      });
    },
    call: async (method, path, body, headers = {}) => {
      const response = await fetch(`${sim.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

export const auth = { authorization: `Token ${API_KEY}` };

/** The error a promise rejects with (fails the test when it resolves). */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
