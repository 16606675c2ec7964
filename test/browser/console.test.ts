/**
 * The operator console in real headless Chromium, against a real in-process sandbox and the real
 * console server: what a new user checks on a clean clone. Time in the sandbox is a manual clock
 * the test moves (a downtime is polled when minutes pass), the way the integration tests do.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { startConsole } from '../../console/server.ts';
import { FLOW_ID as MM_FLOW } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { FLOW_ID as DM_FLOW } from '../../functions/flows/upkeep-work-order-to-deepomatic-validation.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import { MACHINES, postJson, sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { findChromium, type LaunchedChromium, launchChromium } from '../support/chromium.ts';
import { consoleOnSandbox } from '../support/console-browser.ts';
import { startTestSandbox } from '../support/sandbox.ts';

const chromium = findChromium();
if ('skip' in chromium) console.warn(`Skipping the console's browser tests: ${chromium.skip}`);
const suite = 'path' in chromium ? describe : describe.skip;

let sandbox: Sandbox;
let console_: Awaited<ReturnType<typeof startConsole>>;
let browser: LaunchedChromium;
let page: Page;

/** A new UpKeep work order that needs photo validation: its webhook reaches the Deepomatic flow. */
const photoWorkOrder = (title: string): Promise<string> =>
  sandboxControl(sandbox).upkeepWorkOrder({ title, category: 'Photo validation' });

/** Open a page of the console the way a person does: the printed link, then the navigation. */
async function open(route: string): Promise<void> {
  // A fresh document each time: a hash change alone keeps the page, and with it a dialog a failed
  // test left open, which would then fail every test after it.
  await page.goto('about:blank');
  await page.goto(`http://127.0.0.1:${console_.port}/#/${route}`);
  await page.locator('main h1').first().waitFor();
}

suite('the operator console in Chromium', () => {
  beforeAll(async () => {
    if (!('path' in chromium)) return;
    sandbox = await startTestSandbox();
    await sandboxControl(sandbox).advance(0);
    console_ = await consoleOnSandbox(sandbox);
    browser = await launchChromium(chromium.path);
    page = await browser.context.newPage();
    // A page that never shows what a test waits for fails in seconds, with playwright's own reason.
    page.setDefaultTimeout(10_000);
    // The link `millwright console` prints: the token rides in the hash, then lives in sessionStorage.
    await page.goto(console_.url);
    await page.locator('main h1').first().waitFor();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await console_?.close();
    await sandbox?.close();
  });

  it('the flows page lists every enabled flow, each with its state', async () => {
    await open('flows');
    await page.locator('article.card').first().waitFor();
    const shown = await page
      .locator('article.card')
      .evaluateAll((cards) => cards.map((c) => c.getAttribute('data-flow')));
    const enabled = [...sandboxTarget(sandbox).flows.keys()];
    expect(enabled.length).toBeGreaterThan(0);
    expect([...shown].sort()).toEqual([...enabled].sort());
    await expect(
      page.locator(`article.card[data-flow="${MM_FLOW}"] .badge`).first().textContent(),
    ).resolves.toBe('running');
  });

  it('a machine put down from the sandbox page appears as a run, and the subject search finds it', async () => {
    await open('sandbox');
    const row = page.locator(`tr[data-machine="${MACHINES.one}"]`);
    await row.getByRole('button', { name: 'Machine down' }).click();
    await page.getByTestId('control-note').filter({ hasNotText: '…' }).waitFor();
    await row.locator('.badge', { hasText: 'down' }).waitFor();
    // Twenty minutes pass: the downtime poll finds the stop, the flow makes a work order.
    await sandboxControl(sandbox).advance(20);

    await open('runs');
    await page.getByLabel('Subject').fill(MACHINES.one);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL((url) => url.hash.includes(`subject=${MACHINES.one}`));
    const rows = page.locator('table.runs tbody tr');
    await rows.first().waitFor();
    // The unfiltered rows stay until the search's answer renders: wait for the filtered ones.
    await page
      .waitForFunction(
        (machine) => {
          type Row = { children: ArrayLike<{ textContent: string | null }> };
          const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<Row> } })
            .document;
          const subjects = Array.from(doc.querySelectorAll('table.runs tbody tr'), (tr) =>
            tr.children[2]?.textContent?.trim(),
          );
          return subjects.length > 0 && subjects.every((s) => s === machine);
        },
        MACHINES.one,
        { timeout: 10_000 },
      )
      .catch(() => undefined);
    const text = await page.locator('table.runs tbody').innerText();
    expect(text).toContain(MM_FLOW);
    expect(text).toMatch(/done/);
    // Every row is about that machine.
    const subjects = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[2]?.textContent?.trim()));
    expect(new Set(subjects)).toEqual(new Set([MACHINES.one]));
  });

  it('pages through the run log, newest first, and back', async () => {
    await open('runs?limit=3');
    const rows = page.locator('table.runs tbody tr');
    await rows.first().waitFor();
    const first = await rows.allInnerTexts();
    expect(first).toHaveLength(3);
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByText('Page 2').waitFor();
    // Page 2 is the server's second page: the rows' events, in order.
    const api = async (query: string) =>
      (await (
        await fetch(`http://127.0.0.1:${console_.port}/api/runs?${query}`, {
          headers: { 'x-millwright-token': console_.token },
        })
      ).json()) as { entries: { eventId: string }[]; nextCursor?: string };
    const one = await api('limit=3');
    const two = await api(`limit=3&cursor=${encodeURIComponent(one.nextCursor ?? '')}`);
    expect(two.entries.length).toBeGreaterThan(0);
    const expectedLinks = two.entries.map((e) => `#/events/${e.eventId}`);
    // The rows render after the "Page 2" heading: wait for them, then compare.
    await page
      .waitForFunction(
        (expected) => {
          type Link = { getAttribute(name: string): string | null };
          const doc = (
            globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<Link> } }
          ).document;
          const links = Array.from(doc.querySelectorAll('table.runs tbody tr td.message a'), (a) =>
            decodeURIComponent(a.getAttribute('href') ?? ''),
          );
          return JSON.stringify(links) === JSON.stringify(expected);
        },
        expectedLinks,
        { timeout: 10_000 },
      )
      .catch(() => undefined);
    const shown = await page
      .locator('table.runs tbody tr td.message a')
      .evaluateAll((links) => links.map((a) => decodeURIComponent(a.getAttribute('href') ?? '')));
    expect(shown).toEqual(expectedLinks);
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.getByText('Newest runs').waitFor();
    // The first page again, once it has rendered (the heading changes before the rows arrive).
    await page.waitForFunction(
      (expected) => {
        // Runs in the page (this file is compiled without the DOM types).
        type Row = { innerText: string };
        const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<Row> } })
          .document;
        const texts = Array.from(doc.querySelectorAll('table.runs tbody tr'), (r) => r.innerText);
        return JSON.stringify(texts) === JSON.stringify(expected);
      },
      first,
      { timeout: 10_000 },
    );
    await expect(rows.allInnerTexts()).resolves.toEqual(first);
  });

  it('a failed event appears under Failures with its reason, and a replay from the page completes it', async () => {
    const deepomatic = sandbox.simulators.deepomatic?.url ?? '';
    await postJson(`${deepomatic}/_sandbox/faults`, { match: 'POST /v0.2/work-orders', status: 400 });
    const workOrder = await photoWorkOrder('Replace filter');
    await sandbox.settle();

    await open('failures');
    const section = page.locator(`section[data-flow="${DM_FLOW}"]`);
    const row = section.locator('table.dead-letters tbody tr').filter({ hasText: workOrder });
    await row.waitFor();
    expect(await row.innerText()).toMatch(/400/);
    const eventId = (await row.locator('code').first().innerText()).trim();

    await row.getByRole('button', { name: /^Replay/ }).click();
    const dialog = page.getByRole('dialog');
    // The dry run's words first; Escape cancels and nothing is replayed.
    await expect(dialog.getByTestId('dry-run').innerText()).resolves.toMatch(/1 event/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expect(
      section.locator('table.dead-letters tbody tr').filter({ hasText: workOrder }).count(),
    ).resolves.toBe(1);

    await row.getByRole('button', { name: /^Replay/ }).click();
    await dialog.getByTestId('dry-run').waitFor();
    await dialog.getByRole('button', { name: 'Replay 1' }).click();
    await dialog.locator('[data-testid="job"][data-state="done"]').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await sandbox.settle();

    await open(`events/${encodeURIComponent(eventId)}`);
    await page.locator('ol.attempts li').first().waitFor();
    const outcomes = await page.locator('ol.attempts .badge').allInnerTexts();
    expect(outcomes).toEqual(expect.arrayContaining(['dead-lettered', 'replayed', 'done']));
    // The sandbox clock stands still here: the attempts share a timestamp, so find the replay's run by its mark.
    const afterReplay = page.locator('ol.attempts li').filter({ hasText: 'via replay' });
    await expect(afterReplay.locator('.badge').allInnerTexts()).resolves.toContain('done');
    await open('failures');
    await page.locator(`section[data-flow="${DM_FLOW}"]`).waitFor();
    await expect(
      page
        .locator(`section[data-flow="${DM_FLOW}"] table.dead-letters tbody tr`)
        .filter({ hasText: workOrder })
        .count(),
    ).resolves.toBe(0);
  });

  it('pauses and resumes a flow from the page, each after a confirmation with the dry run', async () => {
    await open('failures');
    const section = page.locator(`section[data-flow="${MM_FLOW}"]`);
    const dialog = page.getByRole('dialog');
    await section.getByRole('button', { name: 'Pause' }).click();
    await expect(dialog.getByTestId('dry-run').innerText()).resolves.toContain(MM_FLOW);
    // The default button is Cancel, focused: Enter at once changes nothing. Focus moves to it when
    // the dry run's answer has rendered (ui.js), a moment after the text above can be read.
    await page
      .waitForFunction(
        () =>
          (globalThis as unknown as { document: { activeElement?: { textContent?: string } } }).document
            .activeElement?.textContent === 'Cancel',
        undefined,
        { timeout: 10_000 },
      )
      .catch(() => undefined);
    await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Cancel');
    await dialog.getByRole('button', { name: 'Pause' }).click();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await section.locator('.badge', { hasText: 'paused' }).waitFor();
    expect((await sandbox.state.getFlowControl(MM_FLOW))?.paused).toBe(true);

    await section.getByRole('button', { name: 'Resume' }).click();
    await dialog.getByTestId('dry-run').waitFor();
    await dialog.getByRole('button', { name: 'Resume' }).click();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await section.getByRole('button', { name: 'Pause' }).waitFor();
    expect((await sandbox.state.getFlowControl(MM_FLOW))?.paused).toBe(false);
  });

  it('offers backfill only where a poll source can re-read a window, and previews it before acting', async () => {
    await open('failures');
    const webhookOnly = page.locator('section[data-flow="mobility-work-task-to-upkeep-work-order-status"]');
    await webhookOnly.getByRole('button', { name: 'Pause' }).waitFor();
    await expect(webhookOnly.getByRole('button', { name: 'Backfill…' }).count()).resolves.toBe(0);

    const section = page.locator(`section[data-flow="${MM_FLOW}"]`);
    await section.getByRole('button', { name: 'Backfill…' }).click();
    await section.getByLabel('From').fill('2026-11-02T06:00');
    await section.getByLabel('To').fill('2026-11-02T07:00');
    await section.getByRole('button', { name: 'Preview backfill' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.getByTestId('dry-run').innerText()).resolves.toMatch(
      new RegExp(`^Backfill ${MM_FLOW} .*re-reads that window`),
    );
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  it('fits every page in a 1024 px wide window, with no sideways scrolling', async () => {
    await page.setViewportSize({ width: 1024, height: 768 });
    try {
      for (const [route, ready] of [
        ['flows', 'article.card'],
        ['runs', 'table.runs tbody tr'],
        ['failures', 'section.flow-failures'],
        ['sandbox', 'table.machines tbody tr'],
      ] as const) {
        await open(route);
        await page.locator(ready).first().waitFor();
        const width = await page.evaluate('document.documentElement.scrollWidth');
        expect({ route, width }).toEqual({ route, width: 1024 });
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('refuses a state-changing request without the token, and the flow keeps running', async () => {
    await open('flows');
    const answer = await page.evaluate(async (flowId) => {
      const res = await fetch(`/api/flows/${flowId}/pause`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      return { status: res.status, body: await res.json() };
    }, MM_FLOW);
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({ error: 'missing or wrong console token' });
    expect((await sandbox.state.getFlowControl(MM_FLOW))?.paused ?? false).toBe(false);

    // A tab holding another session's token is refused too, and says how to get back in.
    await page.evaluate("sessionStorage.setItem('millwright-console-token', 'not-this-session')");
    await page.reload();
    await expect(page.getByRole('alert').innerText()).resolves.toContain('Open the link');
    // Pasting the printed link into the same tab takes its token, though only the hash changed.
    await page.goto(console_.url);
    await page.locator('article.card').first().waitFor();
  });
});
