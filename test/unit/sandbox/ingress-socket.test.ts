/**
 * The sandbox ingress holds its port from before the simulators learn it until it stops: a probe
 * socket closed and reopened later raced with outbound connections that took the freed port.
 */
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { RuntimeEnv } from '../../../functions/core/flow.ts';
import { memoryLog } from '../../../functions/core/log.ts';
import type { EventQueue } from '../../../functions/runtime/queue.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { listenIngress, startIngress } from '../../../sandbox/ingress.ts';

describe('the sandbox ingress socket', () => {
  it('listens from the start (503 while starting), then serves the routes on the same port', async () => {
    const server = await listenIngress(0);
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/none`;
      const early = await fetch(url, { method: 'POST', body: '{}' });
      expect(early.status).toBe(503);
      expect(await early.json()).toEqual({ message: 'the sandbox is starting' });

      startIngress(
        {
          receivers: [],
          routing: {},
          env: {} as RuntimeEnv,
          queue: {} as EventQueue,
          maxBytes: 1024,
        },
        server,
        memoryLog(),
        manualClock('2026-01-01T00:00:00Z'),
      );
      const served = await fetch(url, { method: 'POST', body: '{}' });
      expect(served.status).toBe(404);
      expect(await served.json()).toEqual({ message: 'no route POST /webhooks/none' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
