/** The seeded network: its ids, settings, users, equipment, spare parts and maintenance plan. */
import type { MwSimEquipment, MwSimMaintenancePlan, MwSimSparePart, MwSimUser } from './types.ts';

export const MW_SIM_DEFAULT_NETWORK_ID = '17df9a0f-5c04-43c8-b010-b48e1237e6ff';
/** The seeded "external trigger (API)" maintenance plan (equipment 2507). */
export const MW_SIM_MAINTENANCE_PLAN_ID = '5b0f6f0e-3c1a-4d9e-8f2b-7a6c4e1d2b90';
export const MW_SIM_NETWORK_SETTINGS = {
  legacyNetworkId: 686,
  name: 'Sandbox plant',
  timezone: 'Europe/Paris',
  currency: 'EUR',
} as const;

export const SEED_EQUIPMENT: readonly MwSimEquipment[] = [
  { id: 2507, itemCode: 'EQ-MILL-01', name: 'Mill 01' },
  { id: 2508, itemCode: 'EQ-LATHE-02', name: 'Lathe 02' },
  { id: 2509, itemCode: 'EQ-PRESS-03', name: 'Press 03' },
];

export const MW_SIM_USERS: readonly MwSimUser[] = [
  { id: 3, email: 'tech@plant.example', name: 'Tess Technician' },
  { id: 4, email: 'planner@plant.example', name: 'Pat Planner' },
];
/** The initiator of API-originated changes (not assignable). */
export const MW_SIM_API_USER: MwSimUser = { id: 1, email: 'api@plant.example', name: 'Partner API' };

export const MAIN_STORE = 'Main store';

/** Same references, names, stock and minimums as the UpKeep simulator's parts. */
const SEED_PARTS: readonly (Pick<MwSimSparePart, 'externalReference' | 'name' | 'stock'> & {
  minimumStock: number;
})[] = [
  { externalReference: 'PartBearing6204', name: 'Bearing 6204', stock: 12, minimumStock: 4 },
  { externalReference: 'PartBeltA42', name: 'V-belt A42', stock: 3, minimumStock: 2 },
  { externalReference: 'PartFilterHF35', name: 'Hydraulic filter HF35', stock: 20, minimumStock: 5 },
  { externalReference: 'PartSeal2210', name: 'Shaft seal 22x10', stock: 8, minimumStock: 2 },
  // Click Maint's seeded parts, referenced by their part number (the Click Maint flow's default).
  { externalReference: 'FL_A', name: 'Air Filter', stock: 6, minimumStock: 5 },
  { externalReference: 'B52', name: 'V-Belt B52', stock: 2, minimumStock: 3 },
  { externalReference: 'GR-400', name: 'Grease cartridge', stock: 40, minimumStock: 10 },
];

export const SEED_PLANS: readonly MwSimMaintenancePlan[] = [
  {
    id: MW_SIM_MAINTENANCE_PLAN_ID,
    name: 'Mill 01 lubrication (API trigger)',
    equipmentId: 2507,
    description: 'Lubricate the Mill 01 spindle and ways',
    assigneeIds: [3],
    durationMinutes: 60,
  },
];

/**
 * A `POST /partners/v1/spare-parts` item the contract accepts: the two required objects (names
 * assumed, MW_SPARE_PART_REQUIRED_OBJECTS) filled with the main store and a zero price. For demos and
 * tests that create parts through the API.
 */
export function mwSimNewSparePart(externalReference: string, name: string): Record<string, unknown> {
  return {
    externalReference,
    name,
    unitPrice: { amount: 0, currency: MW_SIM_NETWORK_SETTINGS.currency },
    location: { locationName: MAIN_STORE },
  };
}

/** A fresh copy of the seeded spare parts. */
export function seedParts(): MwSimSparePart[] {
  return SEED_PARTS.map((p, i) => ({
    id: `sp-${i + 1}`,
    externalReference: p.externalReference,
    name: p.name,
    description: null,
    stock: p.stock,
    minimumStock: p.minimumStock,
    maximumStock: null,
    replenishmentLot: null,
    unitPrice: null,
    gtin: null,
    costCenter: null,
    location: MAIN_STORE,
  }));
}
