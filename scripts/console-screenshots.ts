/**
 * `npm run console:screenshots`: the five console pages as a new user sees them, written to
 * docs/console-*.png at 1280x800. Starts an in-memory sandbox (random ports) whose clock begins six
 * hours ago, plays a morning on it (machines stop and restart, parts run low, a vendor rejects a
 * request so an event is dead-lettered), then opens each page in headless Chromium.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { startConsole } from '../console/server.ts';
import { silentLog } from '../functions/core/log.ts';
import { FLOW_ID as DM_FLOW } from '../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { manualClock } from '../sandbox/clock.ts';
import { MACHINES, PARTS, postJson, sandboxControl } from '../sandbox/control.ts';
import { type Sandbox, startSandbox } from '../sandbox/runtime.ts';
import { sandboxSecrets } from '../sandbox/secrets.ts';
import { findChromium, launchChromium } from '../test/support/chromium.ts';
import { consoleOnSandbox } from '../test/support/console-browser.ts';

const MINUTE = 60_000;
const OUT = resolve('docs');

/** A morning on the sandbox, ending at the real now, so the page's "5 min ago" reads true. */
async function playMorning(sandbox: Sandbox): Promise<void> {
  const control = sandboxControl(sandbox);
  await control.advance(0);
  await control.machine(MACHINES.one, 'down');
  await control.advance(25);
  await control.machine(MACHINES.one, 'up');
  await control.advance(50);
  await control.upkeepPart(PARTS.bearing, 'consume', 3);
  await control.advance(40);
  await control.machine(MACHINES.two, 'down');
  await control.advance(30);
  await control.mobilityWorkPart(PARTS.belt, 'consume', 2);
  await control.advance(60);
  await control.machine(MACHINES.two, 'up');
  await control.advance(45);
  await control.machine(MACHINES.three, 'down');
  await control.advance(20);
  // Deepomatic rejects one request: that event is dead-lettered and waits under Failures.
  const deepomatic = sandbox.simulators.deepomatic?.url ?? '';
  await postJson(`${deepomatic}/_sandbox/faults`, { match: 'POST /v0.2/work-orders', status: 400 });
  await photoWorkOrder(sandbox, 'Replace hydraulic filter HF35');
  await control.advance(70);
  await control.machine(MACHINES.one, 'down');
  const left = Date.now() - sandbox.clock.now().getTime();
  await control.advance(Math.max(0, Math.floor(left / MINUTE) - 2));
}

const photoWorkOrder = (sandbox: Sandbox, title: string): Promise<string> =>
  sandboxControl(sandbox).upkeepWorkOrder({ title, category: 'Photo validation' });

async function main(): Promise<void> {
  const chromium = findChromium();
  if ('skip' in chromium) throw new Error(`console:screenshots needs Chromium: ${chromium.skip}`);
  const sandbox = await startSandbox({
    config: 'config/default.json',
    secrets: sandboxSecrets() as Record<string, unknown>,
    clock: manualClock(new Date(Date.now() - 6 * 60 * MINUTE).toISOString()),
    basePort: 0,
    visibilityTimeoutSeconds: 2,
    httpTimeoutMs: 800,
    retry: { baseDelaySeconds: 1, maxDelaySeconds: 1, horizonSeconds: 3, waitBudgetSeconds: 30 },
    log: silentLog,
  });
  let server: Awaited<ReturnType<typeof startConsole>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    await playMorning(sandbox);
    server = await consoleOnSandbox(sandbox);
    browser = await launchChromium(chromium.path, { width: 1280, height: 800 });
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.locator('article.card').first().waitFor();
    mkdirSync(OUT, { recursive: true });
    const shoot = async (name: string, route: string, ready: string) => {
      await page.goto(`http://127.0.0.1:${server?.port}/#/${route}`);
      await page.locator(ready).first().waitFor();
      await page.screenshot({ path: `${OUT}/console-${name}.png` });
      process.stdout.write(`docs/console-${name}.png\n`);
    };
    await shoot('flows', 'flows', 'article.card');
    await shoot('runs', 'runs', 'table.runs tbody tr');
    // The event page: the machine's event with the most kinds of decision (done in one flow,
    // skipped or duplicate in another), so the page shows its words for each.
    const runs = await sandbox.state.queryRuns({ subject: MACHINES.one, limit: 500 });
    const outcomes = new Map<string, Set<string>>();
    for (const e of runs.entries)
      outcomes.set(e.eventId, (outcomes.get(e.eventId) ?? new Set()).add(e.outcome));
    const made = [...outcomes]
      .filter(([, set]) => set.has('done'))
      .sort((a, b) => b[1].size - a[1].size)[0]?.[0];
    if (!made) throw new Error(`no done run about ${MACHINES.one} to show`);
    await shoot('event', `events/${encodeURIComponent(made)}`, 'ol.attempts li');
    await shoot('failures', 'failures', `section[data-flow="${DM_FLOW}"] table.dead-letters tbody tr`);
    await shoot('sandbox', 'sandbox', 'table.machines tbody tr');
  } finally {
    await browser?.close();
    await server?.close();
    await sandbox.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `console:screenshots failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
