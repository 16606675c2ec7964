/**
 * The console's pages in real headless Chromium over a stub target and a stub sandbox (no sandbox
 * is started): vendor-controlled text (machine and part names, work order titles, run-log messages,
 * subjects, effects, event bodies) is shown as text, never parsed as HTML; and an event's page says
 * what each flow it went through last did.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { SandboxConsole } from '../../console/sandbox.ts';
import { type ConsoleServer, startConsole } from '../../console/server.ts';
import type { RunLogEntry, RunQuery } from '../../functions/core/state.ts';
import type { Target } from '../../operator/target.ts';
import { findChromium, type LaunchedChromium, launchChromium } from '../support/chromium.ts';

const chromium = findChromium();
const suite = 'path' in chromium ? describe : describe.skip;

/** Each sets `window.__xss` if it ever runs (an element, an attribute, a closed script). */
const HOSTILE = [
  '<img src=x onerror="window.__xss=1">',
  '</script><script>window.__xss=2</script>',
  '"><svg onload="window.__xss=3">',
  "javascript:window.__xss=4//'",
];
const hostile = (i: number) => HOSTILE[i % HOSTILE.length] as string;

const EVENT_ID = `evt-${hostile(0)}`;
const entries: RunLogEntry[] = HOSTILE.map((text, i) => ({
  flowId: 'flow-a',
  eventId: i === 0 ? EVENT_ID : `evt-${i}`,
  eventType: `type ${text}`,
  outcome: i === 1 ? `outcome ${text}` : 'failed',
  message: `UpKeep said: ${text}`,
  at: `2026-12-07T06:0${i}:00.000Z`,
  subject: `machine ${text}`,
  effects: { [`key ${text}`]: `wo ${text}` },
  eventBody: JSON.stringify({ title: text }),
}));

/** One event through two flows: flow-a gave up on it first, flow-b then made its record. */
const FANNED = 'evt-fanned';
entries.push(
  {
    flowId: 'flow-a',
    eventId: FANNED,
    eventType: 'downtime',
    outcome: 'dead-lettered',
    message: 'UpKeep answered 500',
    at: '2026-12-07T06:10:00.000Z',
  },
  {
    flowId: 'flow-b',
    eventId: FANNED,
    eventType: 'downtime',
    outcome: 'done',
    message: 'task created',
    at: '2026-12-07T06:11:00.000Z',
  },
);
// The run log's order: newest first.
entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));

/** Two dead letters whose bodies are not events: both read as event `(unreadable)`. */
const UNREADABLE = ['m-1', 'm-2'].map((id) => ({
  MessageId: id,
  ReceiptHandle: `receipt-${id}`,
  Body: `not json ${id}`,
  Attributes: { SentTimestamp: String(Date.parse('2026-12-07T06:30:00Z')) },
}));

/** The flow's dead-letter queue as SQS answers each command the console sends. */
function sqsAnswer(command: string): unknown {
  if (command === 'ReceiveMessageCommand') return { Messages: UNREADABLE };
  if (command === 'GetQueueAttributesCommand') return { Attributes: { ApproximateNumberOfMessages: '2' } };
  return {};
}

const stubTarget = (): Target =>
  ({
    kind: 'sandbox',
    label: hostile(0),
    // One flow, so the run log is read (its overview fails on this stub: the pages show that aside).
    flows: new Map([['flow-a', { flow: { id: 'flow-a' }, dlqUrl: 'dlq-a', queueUrl: 'queue-a' }]]),
    deployment: { runtime: { maxReceiveCount: 5 } },
    sqs: { send: async (command: object) => sqsAnswer(command.constructor.name) },
    state: {
      queryRuns: async (q: RunQuery) => ({
        entries: q.eventId ? entries.filter((e) => e.eventId === q.eventId) : entries,
        more: false,
        requests: 1,
        readUnits: 1,
      }),
      listParked: async () => [],
      getFlowControl: async () => undefined,
    },
    env: () => ({ now: () => new Date('2026-12-07T07:00:00Z') }),
    close: () => undefined,
  }) as unknown as Target;

const stubSandbox: SandboxConsole = {
  view: async () => ({
    machines: HOSTILE.map((text, i) => ({ id: `m${i}`, name: text, mapped: true, down: false })),
    parts: HOSTILE.map((text, i) => ({ id: `p-${text}`, name: text, upkeepQuantity: i })),
    workOrders: HOSTILE.map((text, i) => ({
      vendor: 'upkeep',
      id: `wo-${i}`,
      title: text,
      status: text,
      asset: text,
    })),
    purchaseOrders: [],
    tasks: [],
  }),
  machine: async () => ({ message: hostile(0) }),
  consume: async () => ({ message: hostile(0) }),
};

let server: ConsoleServer;
let browser: LaunchedChromium;
let page: Page;

async function open(route: string, shows: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`http://127.0.0.1:${server.port}/#/${route}`);
  await page.getByText(shows).first().waitFor();
}

/** No hostile markup became elements, and none of it ran. */
async function expectInert(): Promise<void> {
  expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
  expect(await page.locator('main img, main svg[onload], main script').count()).toBe(0);
  expect(await page.locator('main a[href^="javascript:"]').count()).toBe(0);
}

suite('the console over hostile and fanned-out run-log data in Chromium', () => {
  beforeAll(async () => {
    if (!('path' in chromium)) return;
    server = await startConsole({ target: stubTarget(), sandbox: stubSandbox });
    browser = await launchChromium(chromium.path);
    page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(server.url);
    await page.locator('main h1').first().waitFor();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows machine, part and work order names from the simulators as text', async () => {
    await open('sandbox', `UpKeep said: ${hostile(0)}`);
    for (const text of HOSTILE)
      expect(await page.getByText(text, { exact: true }).count()).toBeGreaterThan(0);
    await expectInert();
  });

  it('shows run-log messages, subjects and outcomes as text, and links stay inside the console', async () => {
    await open('runs', `UpKeep said: ${hostile(1)}`);
    await expectInert();
    const hrefs = await page.locator('main a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const href of hrefs) expect(href).toMatch(/^#\//);
  });

  it("shows an event's attempts, effects and body as text", async () => {
    await open(`events/${encodeURIComponent(EVENT_ID)}`, `UpKeep said: ${hostile(0)}`);
    expect(await page.getByText(`wo ${hostile(0)}`, { exact: true }).count()).toBe(1);
    await expectInert();
  });

  it("says each flow's latest outcome of an event two flows ran, not only the newest one's", async () => {
    await open(`events/${FANNED}`, 'task created');
    const lead = page.locator('p.lead');
    expect(await lead.locator('.badge').allTextContents()).toEqual(['dead-lettered', 'done']);
    expect(await lead.textContent()).toMatch(/dead-lettered.*in flow-a.*done.*in flow-b/s);
  });

  it("a dead letter's own Replay button replays that message, not others sharing its event id", async () => {
    await open('failures', 'failed 5 deliveries');
    await page
      .locator('table.dead-letters tbody tr')
      .first()
      .getByRole('button', { name: /^Replay/ })
      .click();
    const preview = page.getByTestId('dry-run');
    await preview.waitFor();
    expect(await preview.textContent()).toMatch(/^Replay 1 event of flow-a/);
    await page.getByRole('button', { name: 'Cancel' }).click();
  });
});
