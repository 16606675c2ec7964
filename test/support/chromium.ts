/**
 * Real headless Chromium for the console's browser tests: Debian's `chromium` package, installed
 * with apt-get when it is missing (the tests never download a browser of their own: playwright-core
 * only drives the one found here). Where it cannot be installed, `findChromium` says why and the
 * tests skip with that reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The flags every launch uses: no GPU, no network of Chromium's own, no first-run screens. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type ChromiumLookup = { path: string } | { skip: string };

const found = () => CANDIDATES.find((path) => existsSync(path));

/** apt-get as root, or through sudo without a password prompt; the reason it failed otherwise. */
function aptInstall(): string | undefined {
  const root = process.getuid?.() === 0;
  const [cmd, args] = root
    ? ['apt-get', ['install', '-y', 'chromium']]
    : ['sudo', ['-n', 'apt-get', 'install', '-y', 'chromium']];
  // The package lists may be missing on a fresh machine: update once, then install.
  const update = spawnSync(cmd, root ? ['update'] : ['-n', 'apt-get', 'update'], { encoding: 'utf8' });
  if (update.error) return `${cmd} could not run (${update.error.message})`;
  const install = spawnSync(cmd, args as string[], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (install.error) return `${cmd} could not run (${install.error.message})`;
  if (install.status !== 0)
    return `\`${cmd} ${args.join(' ')}\` failed: ${install.stderr.trim().slice(-300)}`;
  return undefined;
}

let lookup: ChromiumLookup | undefined;

/** Chromium's path, installing it once if missing; or why the browser tests must skip. */
export function findChromium(): ChromiumLookup {
  if (lookup) return lookup;
  const existing = found();
  if (existing) {
    lookup = { path: existing };
    return lookup;
  }
  const failure = aptInstall();
  const installed = found();
  lookup = installed
    ? { path: installed }
    : {
        skip: `no Chromium at ${CANDIDATES.join(' or ')} and it could not be installed: ${failure ?? 'apt-get reported success but installed no chromium binary'}`,
      };
  return lookup;
}

export interface LaunchedChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launch headless Chromium with a fresh temporary profile (playwright takes the profile folder as
 * an argument of its own, which it passes as --user-data-dir), removed again on close.
 */
export async function launchChromium(
  path: string,
  viewport: { width: number; height: number } = { width: 1280, height: 800 },
): Promise<LaunchedChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'millwright-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: path,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
