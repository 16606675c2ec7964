/**
 * Reading notes back (look-before-write): GET /work-orders/<ID> lists `arrayOfUpdateItems` (ids, as
 * in the doc's example) and expands them with `includes=arrayOfUpdateItems` by the NAMED ASSUMPTION
 * UPKEEP_UPDATE_ITEMS; the client answers found / absent / unknown, never a guess.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { UPKEEP_UPDATE_ITEMS } from '../../../functions/connectors/upkeep/client.ts';
import { AmbiguousWriteError, VendorResponseError } from '../../../functions/core/errors.ts';
import { type Harness, startHarness } from './support.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.sim.close());

async function session(): Promise<string> {
  const res = await fetch(`${h.sim.baseUrl}/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'integration@plant.example', password: 'Pw-7f3c9a1e-never-log-me' }),
  });
  return ((await res.json()) as { result: { sessionToken: string } }).result.sessionToken;
}

describe('work-order update items', () => {
  it('the simulator lists update items as ids, and as {id, text, createdAt} when expanded (test vector)', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({ title: 'Replace filter' });
    await client.addWorkOrderMessage(wo.id, 'Checked the belt [millwright:test:1]');
    const token = await session();
    const get = async (query: string) =>
      (
        (await (
          await fetch(`${h.sim.baseUrl}/work-orders/${wo.id}${query}`, {
            headers: { 'session-token': token },
          })
        ).json()) as {
          result: { arrayOfUpdateItems: unknown[] };
        }
      ).result.arrayOfUpdateItems;
    const ids = await get('');
    expect(ids).toHaveLength(1);
    expect(typeof ids[0]).toBe('string');
    const expanded = await get(`?includes=${UPKEEP_UPDATE_ITEMS.include}`);
    expect(expanded).toEqual([
      { id: ids[0], text: 'Checked the belt [millwright:test:1]', createdAt: expect.any(String) },
    ]);
  });

  it('finds a note by its marker, and says absent when it is not there', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({ title: 'Replace filter' });
    expect(await client.findWorkOrderMessage(wo.id, '[millwright:test:2]')).toEqual({ status: 'absent' });
    await client.addWorkOrderMessage(wo.id, 'Done. [millwright:test:2]');
    expect(await client.findWorkOrderMessage(wo.id, '[millwright:test:2]')).toEqual({
      status: 'found',
      value: true,
    });
    expect(await client.findWorkOrderMessage(wo.id, '[millwright:test:3]')).toEqual({ status: 'absent' });
    const lookups = h.sim.calls().filter((c) => c.line === `GET /work-orders/${wo.id}`);
    expect(lookups.map((c) => c.query.includes)).toEqual([
      ['arrayOfUpdateItems'],
      ['arrayOfUpdateItems'],
      ['arrayOfUpdateItems'],
    ]);
  });

  it('answers unknown when the items come back unexpanded or missing (the assumption does not hold)', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({ title: 'Replace filter' });
    const current = await client.getWorkOrder(wo.id);
    h.sim.faults.push({
      match: `GET /api/v2/work-orders/${wo.id}`,
      status: 200,
      body: { success: true, result: { ...current, arrayOfUpdateItems: ['UpdItem001'] } },
    });
    expect((await client.findWorkOrderMessage(wo.id, '[millwright:test:4]')).status).toBe('unknown');
    h.sim.faults.push({
      match: `GET /api/v2/work-orders/${wo.id}`,
      status: 200,
      body: { success: true, result: current },
    });
    expect((await client.findWorkOrderMessage(wo.id, '[millwright:test:4]')).status).toBe('unknown');
  });

  it('a 200 that is no work order (a maintenance page, an error envelope) is a retryable error naming the field, not an unknown that parks', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({ title: 'Replace filter' });
    for (const body of [
      '<html><body>Down for maintenance</body></html>',
      { success: false, message: 'Maintenance' },
    ]) {
      h.sim.faults.push({ match: `GET /api/v2/work-orders/${wo.id}`, status: 200, body });
      const error = await client.findWorkOrderMessage(wo.id, '[millwright:test:6]').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VendorResponseError);
      expect((error as VendorResponseError).field).toBe('result');
      expect((error as VendorResponseError).retryable).toBe(true);
    }
  });

  it('a note answered 200 without {success: true} (an outage page) is ambiguous, not added: the retry looks for it first', async () => {
    const client = h.client();
    const wo = await client.createWorkOrder({ title: 'Replace filter' });
    for (const body of [
      '<html><body>Down for maintenance</body></html>',
      { success: false, message: 'Maintenance' },
    ]) {
      h.sim.faults.push({ match: `POST /api/v2/work-orders/${wo.id}/update-messages/`, status: 200, body });
      const error = await client
        .addWorkOrderMessage(wo.id, 'Done. [millwright:test:7]')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AmbiguousWriteError);
    }
    await expect(client.addWorkOrderMessage(wo.id, 'Done. [millwright:test:7]')).resolves.toBeUndefined();
  });

  it('a work order that is gone has no note: absent', async () => {
    expect(await h.client().findWorkOrderMessage('GoneWO0001', '[millwright:test:5]')).toEqual({
      status: 'absent',
    });
  });
});
