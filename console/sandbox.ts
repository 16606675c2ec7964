/**
 * The sandbox's side for the console: what the simulators hold (work orders, purchase orders,
 * tasks, stock, machines) and the controls a newcomer presses (machine down/up, consume a part).
 */
export interface SandboxView {
  machines: { id: string; name: string; mapped: boolean; down: boolean }[];
  parts: {
    id: string;
    name: string;
    upkeepQuantity?: number;
    mobilityWorkStock?: number;
    minimum?: number;
  }[];
  workOrders: Record<string, unknown>[];
  purchaseOrders: Record<string, unknown>[];
  tasks: Record<string, unknown>[];
}

export interface SandboxConsole {
  view(): Promise<SandboxView>;
  machine(id: string, action: 'down' | 'up'): Promise<{ message: string }>;
  consume(partId: string, quantity: number): Promise<{ message: string }>;
}
