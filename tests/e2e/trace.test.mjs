// The console's trace button in real headless Chromium: a check of the routed trace
// lab's server (tests/lab/trace-lab-up.sh) shows 445/tcp FILTERED; clicking the cell's
// "trace" button must say where it stops (silent after hop 2, r2's address) and
// 3389/tcp's must name r3 and ICMP code 13. Run inside the lab's client namespace by
// tests/e2e/trace.sh, which starts the console there (PORTQ_URL).

import { launch, tally, watchdog as startWatchdog } from './browser.mjs';
import { join } from 'node:path';

const base = process.env.PORTQ_URL;
const out = process.env.PORTQ_E2E_OUT || 'target/e2e';
const executablePath = process.env.PORTQ_CHROMIUM || '/usr/bin/chromium';
if (!base) {
  console.error('trace.test.mjs: set PORTQ_URL (tests/e2e/trace.sh does)');
  process.exit(2);
}
const { check, failures } = tally();
const watchdog = startWatchdog('trace.test.mjs', 120_000);
const { context, outside, close } = await launch(base, out, executablePath);
try {
  const page = await context.newPage();
  await page.goto(base + '/check');
  await page.locator('#targets').fill('10.201.243.2');
  await page.locator('#ports').fill('tcp:389,445,3389');
  await page.locator('#check-form button[type="submit"]').click();
  await page.locator('#check-out .status', { hasText: 'Done:' }).waitFor({ timeout: 30_000 });
  const buttons = page.locator('#check-out table.grid button.trace');
  check(await buttons.count() === 2, 'the two FILTERED cells (445, 3389) have a trace button (' + await buttons.count() + ')');
  const b445 = page.getByRole('button', { name: 'Trace the path to 10.201.243.2 port 445/tcp' });
  await b445.click();
  const r445 = page.locator('.trace-result', { hasText: '10.201.243.2 445/TCP' }).locator('.status');
  await r445.filter({ hasText: /hop|error|cannot/ }).waitFor({ timeout: 30_000 });
  const t445 = await r445.textContent();
  check(/silent after hop 2 at .*10\.201\.241\.2/.test(t445), '445/tcp: silent after hop 2 at r2 (' + t445 + ')');
  check(/dropped after hop 2/.test(await b445.textContent()), 'the 445 button now says where it is dropped');
  const b3389 = page.getByRole('button', { name: 'Trace the path to 10.201.243.2 port 3389/tcp' });
  await b3389.click();
  const r3389 = page.locator('.trace-result', { hasText: '10.201.243.2 3389/TCP' }).locator('.status');
  await r3389.filter({ hasText: /hop|error|cannot/ }).waitFor({ timeout: 30_000 });
  const t3389 = await r3389.textContent();
  check(/rejected at hop 3 by .*10\.201\.242\.2.*code 13/.test(t3389), '3389/tcp: rejected by r3 with code 13 (' + t3389 + ')');
  const hops = await page.locator('.trace-result table tbody tr').count();
  check(hops >= 6, 'each trace lists its hops (' + hops + ' rows)');
  await page.screenshot({ path: join(out, 'console-trace-1280x900.png'), fullPage: true });
  check(outside.length === 0, 'the browser asked for nothing outside the console (' + outside.join(', ') + ')');
} catch (e) {
  check(false, 'the run went through without an exception: ' + (e && e.stack ? e.stack : e));
} finally {
  await close();
  clearTimeout(watchdog);
}
console.log(failures.length ? `${failures.length} failed` : 'all passed');
process.exit(failures.length ? 1 : 0);
