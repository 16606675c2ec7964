/**
 * The connector's requests against the simulator, which enforces api-doc.txt's request contract:
 * whatever the client builds by default must be what Mobility Work documents, so a body MW would
 * refuse (like the deprecated PUT's flat stock item on the bulk movement endpoint) fails here.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { MobilityWorkClient } from '../../../functions/connectors/mobility-work/client.ts';
import {
  type MobilityWorkConfigInput,
  parseMobilityWorkConfig,
} from '../../../functions/connectors/mobility-work/config.ts';
import { MobilityWorkApiError } from '../../../functions/connectors/mobility-work/errors.ts';
import {
  type MobilityWorkSimulator,
  MW_SIM_MAINTENANCE_PLAN_ID,
  startMobilityWorkSimulator,
} from '../../../functions/connectors/mobility-work/simulator/index.ts';
import { manualClock } from '../../../sandbox/clock.ts';
import { API_KEY, SECRET_NAME } from './fixtures.ts';

let sim: MobilityWorkSimulator;

beforeEach(async () => {
  sim = await startMobilityWorkSimulator({ clock: manualClock('2026-11-02T08:00:00Z'), apiKey: API_KEY });
});
afterEach(async () => {
  await sim.close();
});

const clientFor = (config: Partial<MobilityWorkConfigInput> = {}) =>
  new MobilityWorkClient({
    config: parseMobilityWorkConfig({ baseUrl: sim.url, secretName: SECRET_NAME, ...config }),
    loadApiKey: async () => API_KEY,
    http: { maxAttempts: 1, sleep: async () => {} },
  });

const stockOf = (ref: string) => sim.spareParts().find((p) => p.externalReference === ref)?.stock;

describe('Mobility Work connector against the contract simulator', () => {
  it('sets stock with the default config: the documented movement body is accepted and applied', async () => {
    await expect(
      clientFor().setStock([
        { id: 'PartSeal2210', quantity: 3 },
        { id: { type: 'externalReference', value: 'PartBeltA42' }, quantity: 0 },
      ]),
    ).resolves.toEqual({ requests: 1, items: 2, status: 'accepted' });
    await sim.settle();
    expect(stockOf('PartSeal2210')).toBe(3);
    expect(stockOf('PartBeltA42')).toBe(0);
  });

  it('shows why flat is opt-in only: the bulk movement endpoint refuses it, naming the missing object', async () => {
    const error = await clientFor({ stockMovementFormat: 'flat' })
      .setStock([{ id: 'PartSeal2210', quantity: 3 }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MobilityWorkApiError);
    expect((error as MobilityWorkApiError).status).toBe(400);
    expect((error as Error).message).toContain('/0/movement error.payload.required');
    await sim.settle();
    expect(stockOf('PartSeal2210')).toBe(8);
  });

  it('sends every other request in a shape the contract accepts', async () => {
    const c = clientFor();
    await expect(
      c.scheduleTask({
        equipment: 'EQ-MILL-01',
        description: 'Spindle alarm on Mill 01',
        startDateTime: '2026-11-02T08:00:00+00:00',
        endDateTime: '2026-11-02T09:00:00+00:00',
        allDay: false,
        assignees: [3],
        metadata: { millwrightEpisode: 'ep-1' },
      }),
    ).resolves.toEqual({ accepted: true });
    await expect(c.triggerMaintenancePlan(MW_SIM_MAINTENANCE_PLAN_ID)).resolves.toEqual({ accepted: true });
    await expect(
      c.createSpareParts([
        {
          externalReference: 'PartNew01',
          name: 'Coupling insert',
          unitPrice: { amount: 1250, currency: 'EUR' },
          location: { locationName: 'Main store' },
        },
      ]),
    ).resolves.toMatchObject({ status: 'accepted' });
    await expect(
      c.updateSparePartAttributes([{ id: 'PartSeal2210', minimumStock: null, maximumStock: 20 }]),
    ).resolves.toMatchObject({ status: 'accepted' });
    await expect(c.getNetworkSettings()).resolves.toMatchObject({ currency: 'EUR' });
    await sim.settle();
    expect(sim.tasks()).toHaveLength(2);
    expect(sim.state().rejectedItems).toEqual([]);
    expect(sim.spareParts().find((p) => p.externalReference === 'PartNew01')).toMatchObject({
      unitPrice: { amount: 1250, currency: 'EUR' },
    });
  });

  it('agrees with the simulator on a unit price: an integer amount is the documented rule, nothing more', async () => {
    const c = clientFor();
    const part = (amount: number, currency: string) => ({
      externalReference: `Part${amount}`,
      name: 'Coupling insert',
      unitPrice: { amount, currency },
      location: { locationName: 'Main store' },
    });
    // The client sends any integer amount and any non-empty currency: the simulator takes them.
    await expect(c.createSpareParts([part(-100, 'eur')])).resolves.toMatchObject({ status: 'accepted' });
    // Both refuse an amount that is not in minor units (the client before sending).
    await expect(c.createSpareParts([part(12.5, 'EUR')])).rejects.toThrow(
      'invalid input at [0].unitPrice.amount',
    );
    await sim.settle();
    expect(sim.spareParts().find((p) => p.externalReference === 'Part-100')?.unitPrice).toEqual({
      amount: -100,
      currency: 'eur',
    });
  });

  it('lets the client refuse a fractional stock that the simulator would refuse too', async () => {
    await expect(clientFor().setStock([{ id: 'PartSeal2210', quantity: 2.5 }])).rejects.toThrow(
      'invalid input at [0].quantity',
    );
    await sim.settle();
    expect(stockOf('PartSeal2210')).toBe(8);
  });

  // api-doc.txt:390-393 and 588-596: `gtin` is "string^[0-9]{8,18}$" and `costCenter` a string on
  // create and attributes. The simulator refuses a bad one, failing the whole batch (up to 10,000
  // items); the client must refuse it before sending, as it does the documented lengths.
  it('refuses a gtin or costCenter the doc refuses before sending, on create and attributes', async () => {
    const c = clientFor();
    const part = (extra: Record<string, unknown>) => ({
      externalReference: 'PartGtin01',
      name: 'Coupling insert',
      unitPrice: { amount: 1250, currency: 'EUR' },
      location: { locationName: 'Main store' },
      ...extra,
    });
    await expect(c.createSpareParts([part({ gtin: '12AB5678' })])).rejects.toThrow(
      'invalid input at [0].gtin',
    );
    await expect(c.createSpareParts([part({ gtin: '1234567' })])).rejects.toThrow(
      'invalid input at [0].gtin',
    );
    await expect(c.createSpareParts([part({ costCenter: 42 })])).rejects.toThrow(
      'invalid input at [0].costCenter',
    );
    await expect(c.updateSparePartAttributes([{ id: 'PartSeal2210', gtin: 'ABCDEFGH' }])).rejects.toThrow(
      'invalid input at [0].gtin',
    );
    // What the doc allows goes through: 8..18 digits, any string, and null to unset (attributes).
    await expect(
      c.createSpareParts([part({ gtin: '123456789012345678', costCenter: 'CC-7' })]),
    ).resolves.toMatchObject({ status: 'accepted' });
    await expect(
      c.updateSparePartAttributes([{ id: 'PartSeal2210', gtin: null, costCenter: null }]),
    ).resolves.toMatchObject({ status: 'accepted' });
    await sim.settle();
    expect(sim.state().rejectedItems).toEqual([]);
    expect(sim.spareParts().find((p) => p.externalReference === 'PartGtin01')).toMatchObject({
      gtin: '123456789012345678',
      costCenter: 'CC-7',
    });
  });

  // api-doc.txt:996-1005: typed identifiers are native, external, email or code; equipment takes
  // native and external, assignees native and email, tags native and code. Another type is a 400.
  it('refuses a typed identifier of a type the field does not take, before sending', async () => {
    const c = clientFor();
    const task = (extra: Record<string, unknown>) => ({
      equipment: 'EQ-MILL-01',
      description: 'Spindle alarm on Mill 01',
      startDateTime: '2026-11-02T08:00:00+00:00',
      endDateTime: '2026-11-02T09:00:00+00:00',
      allDay: false,
      assignees: [3],
      ...extra,
    });
    await expect(
      c.scheduleTask(task({ equipment: { type: 'email', value: 'a@b.example' } })),
    ).rejects.toThrow('invalid input at equipment');
    await expect(c.scheduleTask(task({ assignees: [{ type: 'code', value: 'X' }] }))).rejects.toThrow(
      'invalid input at assignees[0]',
    );
    await expect(c.scheduleTask(task({ tags: [{ type: 'email', value: 'a@b.example' }] }))).rejects.toThrow(
      'invalid input at tags[0]',
    );
    expect(sim.tasks()).toHaveLength(0);
    await expect(
      c.scheduleTask(
        task({
          equipment: { type: 'native', value: 2507 },
          assignees: [
            { type: 'email', value: 'tech@plant.example' },
            { type: 'native', value: 4 },
          ],
        }),
      ),
    ).resolves.toEqual({ accepted: true });
    expect(sim.tasks()).toHaveLength(1);
  });
});
