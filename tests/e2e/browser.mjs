// What every browser test here shares: Debian's Chromium, headless, with its own
// background traffic off, in a throw-away profile, refusing (and recording) every
// request that is not to the console under test; a check() that tallies; a watchdog.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/// Starts Chromium for the console at `base`: `{ context, outside, close }`, where
/// `outside` collects the URLs refused and `close()` ends the browser and its profile.
export async function launch(base, out, executablePath) {
  mkdirSync(out, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'portq-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const outside = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base + '/')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, outside, close };
}

/// A tally of named checks: `check(ok, what)` prints and counts; `failures`, `passed`.
export function tally() {
  const failures = [];
  const passed = [];
  const check = (ok, what) => {
    (ok ? passed : failures).push(what);
    console.log((ok ? 'ok   ' : 'FAIL ') + what);
  };
  return { check, failures, passed };
}

/// Exits the process with failure if the run takes longer than `ms`.
export function watchdog(name, ms) {
  return setTimeout(() => {
    console.error(name + ': FAILED: timed out after ' + ms / 1000 + ' s');
    process.exit(1);
  }, ms);
}
