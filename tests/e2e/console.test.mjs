// End-to-end test of the `portq serve` console in real headless Chromium (Debian's
// /usr/bin/chromium), driven by playwright-core. tests/e2e/run.sh starts the server and
// sets PORTQ_URL; no browser is ever downloaded.
//
// The browser only talks to the console: every other request is refused and fails the
// test, and the flags below turn off Chromium's own background traffic.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

const base = process.env.PORTQ_URL;
const out = process.env.PORTQ_E2E_OUT || 'target/e2e';
const executablePath = process.env.PORTQ_CHROMIUM || '/usr/bin/chromium';
if (!base) {
  console.error('console.test.mjs: set PORTQ_URL (tests/e2e/run.sh does)');
  process.exit(2);
}

const failures = [];
const passed = [];
function check(ok, what) {
  (ok ? passed : failures).push(what);
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
}

// The whole run is bounded.
const watchdog = setTimeout(() => {
  console.error('console.test.mjs: FAILED: timed out after 90 s');
  process.exit(1);
}, 90_000);

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

const dialogs = [];
const consoleErrors = [];
function watch(page) {
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
}

/** The visible answer rows as {port, proto} pairs. */
async function answerRows(page) {
  return page.$$eval('#results table tbody tr', (trs) =>
    trs.map((tr) => ({
      port: tr.cells[0].textContent.trim(),
      proto: tr.cells[1].textContent.trim(),
    })));
}

try {
  const page = context.pages()[0] || (await context.newPage());
  watch(page);

  // 1. Search as you type.
  await page.goto(base + '/');
  check((await page.title()).includes('portq'), 'the search page loads');
  await page.locator('#q').pressSequentially('kerberos', { delay: 25 });
  await page.waitForFunction(() => {
    const s = document.getElementById('status');
    return s && s.textContent.includes('for “kerberos”');
  }, null, { timeout: 10_000 });
  const rows = await answerRows(page);
  check(rows.some((r) => r.port === '88' && r.proto === 'TCP'), 'typing "kerberos" shows 88 TCP');
  check(rows.some((r) => r.port === '88' && r.proto === 'UDP'), 'typing "kerberos" shows 88 UDP');
  check(page.url().endsWith('/?q=kerberos'), 'the address follows the search (' + page.url() + ')');
  await page.screenshot({ path: join(out, 'console.png'), fullPage: false });

  // 2. Role builder: domain controller, rules downloaded as nftables.
  await page.goto(base + '/roles');
  await page.locator('input[name="role"][value="domain-controller"]').check();
  await page.locator('#from').fill('10.0.0.0/8');
  await page.locator('#management').fill('10.0.9.0/24');
  await page.locator('#rules-box').waitFor({ state: 'visible', timeout: 10_000 });
  await page.waitForFunction(() => {
    const a = document.querySelector('#downloads a[data-format="nftables"]');
    return a && a.getAttribute('href').includes('from=10.0.0.0') && a.getAttribute('href').includes('management=10.0.9.0');
  }, null, { timeout: 10_000 });
  const reqCount = await page.locator('#req-table tbody tr').count();
  check(reqCount > 10, 'the domain controller has its requirements listed (' + reqCount + ')');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 10_000 }),
    page.locator('#downloads a[data-format="nftables"]').click(),
  ]);
  const file = await download.path();
  const nft = file ? readFileSync(file, 'utf8') : '';
  check(nft.length > 0, 'the nftables download is not empty');
  check(nft.includes('table inet portq'), 'the nftables download holds "table inet portq"');
  check(nft.includes('10.0.0.0/8'), 'the nftables download is scoped to the clients given');
  check(nft.includes('ip saddr { 10.0.9.0/24 } tcp dport 22 accept'), 'the nftables download keeps SSH open to the management hosts');
  check(download.suggestedFilename() === 'portq.nft', 'the download is named portq.nft (' + download.suggestedFilename() + ')');
  await page.locator('#preview').selectOption('nftables');
  await page.waitForFunction(() => document.getElementById('preview-text').textContent.includes('table inet portq'), null, { timeout: 10_000 });
  check(true, 'the preview follows the chosen format');
  await page.screenshot({ path: join(out, 'roles.png'), fullPage: false });

  // 3. Markup typed into the search is shown as text, never run.
  const evil = '<script>alert(1)</script>';
  await page.goto(base + '/');
  await page.locator('#q').fill(evil);
  await page.waitForFunction((e) => {
    const s = document.getElementById('status');
    return s && s.textContent.includes(e);
  }, evil, { timeout: 10_000 });
  check(dialogs.length === 0, 'no dialog fired (' + dialogs.join(', ') + ')');
  const status = await page.locator('#status').textContent();
  check(status.includes(evil), 'the status shows the markup literally: ' + status);
  const scripts = await page.$$eval('script', (s) => s.map((x) => x.getAttribute('src')));
  check(scripts.length === 1 && scripts[0] === '/assets/app.js', 'the only script is the console\'s own');
  await page.screenshot({ path: join(out, 'xss.png'), fullPage: false });

  const img = '<img src=x onerror=alert(2)>';
  await page.locator('#q').fill(img);
  await page.waitForFunction((e) => document.getElementById('status').textContent.includes(e), img, { timeout: 10_000 });
  check((await page.locator('#status img, #results img').count()) === 0, 'an <img> typed into the search stays text');
  check(dialogs.length === 0, 'no dialog fired for the <img> either');

  // 4. The same without JavaScript: the server-rendered page escapes it.
  const plain = await context.newPage();
  watch(plain);
  const cdp = await context.newCDPSession(plain);
  await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
  await plain.goto(base + '/?q=' + encodeURIComponent(evil));
  const plainStatus = await plain.locator('#status').textContent();
  check(plainStatus.includes(evil), 'without JavaScript the page shows the markup literally');
  check(dialogs.length === 0, 'still no dialog');
  await plain.goto(base + '/?q=445');
  const plainRows = await plain.locator('#results tbody tr').count();
  check(plainRows > 3, 'without JavaScript a search still answers (' + plainRows + ' rows for 445)');
  await plain.close();

  // 5. A check from the browser (run.sh allows 127.0.0.1/32) against a listener of ours.
  const listener = net.createServer((sock) => sock.destroy());
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const own = listener.address().port;
  try {
    await page.goto(base + '/check');
    await page.locator('#targets').fill('127.0.0.1');
    await page.locator('#ports').fill('tcp:' + own);
    await page.locator('input[name="probes"][type="checkbox"]').uncheck();
    await page.locator('#check-form button[type="submit"]').click();
    await page.waitForFunction(() => {
      const s = document.querySelector('#check-out .status');
      return s && s.textContent.startsWith('Done');
    }, null, { timeout: 20_000 });
    const done = await page.locator('#check-out .status').textContent();
    check(done.endsWith('Passed.'), 'the status ends with the library\'s verdict (' + done + ')');
    const cell = await page.locator('#check-out table.grid tbody td').first();
    check((await cell.textContent()) === 'LISTENING', 'the check grid shows our own listener as LISTENING');
    check((await cell.getAttribute('class')) === 'state listening', 'the grid cell is marked listening');
    await page.screenshot({ path: join(out, 'check.png'), fullPage: false });
  } finally {
    listener.close();
  }

  check(outside.length === 0, 'the browser asked for nothing outside the console (' + outside.join(', ') + ')');
  const csp = consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e));
  check(csp.length === 0, 'no Content-Security-Policy violations (' + csp.join(' | ') + ')');
  const other = consoleErrors.filter((e) => !csp.includes(e) && !/status of 400/.test(e));
  check(other.length === 0, 'no script errors (' + other.join(' | ') + ')');
} catch (e) {
  check(false, 'the run went through without an exception: ' + (e && e.stack ? e.stack : e));
  if (consoleErrors.length) console.log('browser console errors: ' + consoleErrors.join(' | '));
  for (const p of context.pages()) {
    await p.screenshot({ path: join(out, 'failure.png') }).catch(() => {});
  }
} finally {
  await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(watchdog);
}

console.log(`${passed.length} passed, ${failures.length} failed; screenshots in ${out}`);
process.exit(failures.length ? 1 : 0);
