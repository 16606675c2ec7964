/**
 * The response samples of /work/shared/vendors/upkeep/api-doc.txt, verbatim but abridged to the
 * fields around the ones we read (the doc's `{...}` placeholders and trailing commas dropped), parsed
 * with the connector's schemas: a documented answer must never fail as "unexpected shape".
 */
import { describe, expect, it } from '@jest/globals';
import {
  downtimeResponseSchema,
  partSchema,
  purchaseOrderListResponseSchema,
  purchaseOrderResponseSchema,
  webhookListResponseSchema,
  webhookResponseSchema,
  workOrderResponseSchema,
  workRequestResponseSchema,
} from '../../../functions/connectors/upkeep/schemas.ts';

describe('UpKeep api-doc.txt response samples parse', () => {
  it('Create a Work Order (api-doc.txt:4340-4412): priority a number, ids as strings', () => {
    const wo = workOrderResponseSchema.parse({
      success: true,
      result: {
        id: '6yDTWLAEmh',
        workOrderNo: '006',
        title: 'Repair sink',
        description: 'Sink broke yesterday',
        status: 'open',
        category: 'Damage',
        startDate: '2018-01-04T07:20:22.310Z',
        dueDate: '2018-01-09T07:20:22.310Z',
        asset: 'knyWfDnXWo',
        location: 'cXRAu708NU',
        image: {
          __type: 'File',
          name: 'dfimg_request2.jpg',
          url: 'https://demo-api-upkeep.s3.amazonaws.com/x',
        },
        priority: 1,
        time: '20',
        cost: '25',
        customWOStatus: { id: '651c18ebf37a21595c159a9c', name: 'Open - Pending Approval', type: 'open' },
        createdAt: '2018-01-09T07:56:53.743Z',
        updatedAt: '2018-01-09T07:56:53.743Z',
      },
    }).result;
    expect(wo).toMatchObject({ id: '6yDTWLAEmh', workOrderNo: '006', priority: 1, asset: 'knyWfDnXWo' });
  });

  it('Get a Specific Work Order (api-doc.txt:4639-4790): priority "1" is read as 1', () => {
    const wo = workOrderResponseSchema.parse({
      success: true,
      result: {
        id: 'HW2I379ErS',
        workOrderNo: '014',
        title: 'Replace the warp drive on the fusion reactor',
        status: 'onHold',
        asset: 'kW6I379ELS',
        category: 'Electrical',
        priority: '1',
        createdAt: '2017-12-06T19:23:09.162Z',
        updatedAt: '2017-12-08T18:41:44.335Z',
      },
    }).result;
    expect(wo.priority).toBe(1);
  });

  it('Create a Purchase Order (api-doc.txt:6710-6770): parts and partQuantities pair up', () => {
    const po = purchaseOrderResponseSchema.parse({
      success: true,
      result: {
        id: 'XHUi1SyW0t',
        createdByUser: '7w6jIHFdEr',
        title: 'Power dice shortage',
        description: 'Small dice model 5',
        status: 'awaiting',
        poDate: '2018-06-28T00:00:00.000Z',
        dueDate: '2018-06-30T00:00:00.000Z',
        vendor: 'IPS0tjjV5I',
        parts: ['t0RYP2jIPz'],
        partQuantities: [5],
        partsPendingQuantities: { t0RYP2jIPz: 5 },
        partialFulfillHistory: [],
        purchaseOrderNumber: 100,
        category: 'Electrical',
        createdAt: '2018-06-08T09:15:46.452Z',
        updatedAt: '2018-06-08T09:15:46.452Z',
      },
    }).result;
    expect(po.parts).toEqual([{ id: 't0RYP2jIPz', quantity: 5 }]);
    expect(po.purchaseOrderNumber).toBe(100);
  });

  it('Get All Purchase Orders (api-doc.txt:6833-6883): no parts, only partsPendingQuantities', () => {
    const [po] = purchaseOrderListResponseSchema.parse({
      success: true,
      results: [
        {
          id: 'XHUi1SyW0t',
          title: 'Power dice shortage',
          status: 'awaiting',
          vendor: 'IPS0tjjV5I',
          partsPendingQuantities: { t0RYP2jIPz: 5 },
          purchaseOrderNumber: 36,
          createdAt: '2018-06-08T09:15:46.452Z',
          updatedAt: '2018-06-08T09:15:46.452Z',
        },
      ],
    }).results;
    expect(po?.parts).toBeUndefined();
    expect(po?.partsPendingQuantities).toEqual({ t0RYP2jIPz: 5 });
  });

  it('Create a Request (api-doc.txt:4060-4081)', () => {
    const request = workRequestResponseSchema.parse({
      success: true,
      result: {
        id: '9shLaaHeMQ',
        title: 'Repair sink',
        location: 'yuhLKaHelk',
        asset: 'pLkyFaFelk',
        team: 'pLykFaFelk',
        status: 'open',
        priority: 1,
        requestedByUser: '8PhLFaHelk',
        dueDate: '2018-01-09T07:20:22.310Z',
        createdAt: '2018-01-09T06:24:16.297Z',
        updatedAt: '2018-01-09T06:24:16.297Z',
      },
    }).result;
    expect(request).toMatchObject({ id: '9shLaaHeMQ', status: 'open', priority: 1 });
  });

  it('Get a Specific Part (api-doc.txt:3695-3733): quantities as strings', () => {
    const part = partSchema.parse({
      id: '1YHUWGVgdC',
      image: { name: 'dfimg_part_du.jpg', url: 'https://upkeep-production.s3.amazonaws.com/x.jpg' },
      name: 'Flux Capacitor',
      description: 'This is what makes time travel possible.',
      cost: '88.00',
      quantity: '5',
      minimumQuantity: '1',
      partId: '654a1b433dc9596ef9af2a1f',
      partName: 'PT-1',
      serial: '40161502',
      area: 'Center console',
      category: 'Filter',
      location: 'jmHFWGVgd1',
      createdAt: '2017-10-23T23:51:58.097Z',
      updatedAt: '2017-10-23T23:51:58.097Z',
    });
    expect(part).toMatchObject({ quantity: 5, minimumQuantity: 1, cost: 88, partNumber: 'PT-1' });
  });

  it('Record Downtime Events (api-doc.txt:2094-2118): one failed row, one recorded', () => {
    const answer = downtimeResponseSchema.parse({
      success: false,
      results: [
        {
          assetId: 'TFtPTiUQQ3',
          status: 'available',
          recordedOn: 'not a date',
          row: 1,
          errors: [{ message: 'Invalid recordedOn date', slug: 'invalid-recorded-on', value: 'not a date' }],
        },
        {
          assetId: 'SQENCkGVrr',
          status: 'available',
          recordedOn: '2023-10-25T23:25:59.999Z',
          row: 3,
          statusMessage: 'Insert new asset activity update',
          statusSlug: 'insert-asset-activity-update',
          newAssetActivityUpdateId: 'Dn0Uv1Be4W',
        },
      ],
    });
    expect(answer.results?.map((r) => r.errors?.length ?? 0)).toEqual([1, 0]);
  });

  it('Create / Get All Webhooks (api-doc.txt:7692-7721, 7769-7781): a new webhook is disabled', () => {
    const hook = { id: '110', endpoint: 'https://hooks.zapier.com/hooks/catch/1234567/abcdef/' };
    const created = webhookResponseSchema.parse({
      success: true,
      result: { ...hook, events: ['WORK_ORDER_CREATED'], title: 'Zapier Integration', enabled: false },
    }).result;
    expect(created).toMatchObject({ id: '110', enabled: false });
    const listed = webhookListResponseSchema.parse({
      success: true,
      results: [{ ...hook, events: [], title: 'Zapier Integration', enabled: false }],
    }).results;
    expect(listed).toHaveLength(1);
  });
});
