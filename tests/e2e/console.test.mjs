// End-to-end test of the `portq serve` console in real headless Chromium (Debian's
// /usr/bin/chromium), driven by playwright-core. tests/e2e/run.sh starts the server and
// sets PORTQ_URL; no browser is ever downloaded.
//
// The browser only talks to the console: every other request is refused and fails the
// test, and browser.mjs turns off Chromium's own background traffic.

import { launch, tally, watchdog as startWatchdog } from './browser.mjs';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import net from 'node:net';

const base = process.env.PORTQ_URL;
const out = process.env.PORTQ_E2E_OUT || 'target/e2e';
const executablePath = process.env.PORTQ_CHROMIUM || '/usr/bin/chromium';
if (!base) {
  console.error('console.test.mjs: set PORTQ_URL (tests/e2e/run.sh does)');
  process.exit(2);
}

const { check, failures, passed } = tally();

// The whole run is bounded.
const watchdog = startWatchdog('console.test.mjs', 180_000);

const { context, outside, close } = await launch(base, out, executablePath);

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

  // 6. Layout at 1400×900: the first answer is above the fold; a row is at most three
  //    lines high until its sources are opened; opening them shows the citation.
  await page.setViewportSize({ width: 1400, height: 900 });
  for (const [url, what] of [['/?q=ldap', 'search for ldap'], ['/?q=445', 'search for 445'], ['/ports', 'By port'], ['/services', 'By service']]) {
    await page.goto(base + url);
    const m = await page.evaluate(() => {
      const rows = [...document.querySelectorAll('main table.answers tbody tr')];
      const first = rows[0] ? rows[0].getBoundingClientRect() : null;
      const tall = [];
      for (const tr of rows.slice(0, 400)) {
        const td = tr.cells[tr.cells.length - 1];
        const cs = getComputedStyle(td);
        const line = parseFloat(cs.lineHeight) || 1.5 * parseFloat(cs.fontSize);
        const limit = 3 * line + parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom) + 2;
        const h = tr.getBoundingClientRect().height;
        if (h > limit) tall.push(tr.cells[0].textContent.trim() + ' ' + Math.round(h) + '>' + Math.round(limit));
      }
      return { rows: rows.length, firstBottom: first ? first.bottom : null, tall, vh: innerHeight };
    });
    check(m.rows > 0, what + ': answer rows (' + m.rows + ')');
    if (url.startsWith('/?q=')) {
      check(m.firstBottom !== null && m.firstBottom <= m.vh, what + ': the first row is above the fold (bottom ' + Math.round(m.firstBottom) + ' of ' + m.vh + ')');
    }
    check(m.tall.length === 0, what + ': every row at most 3 lines high until opened (' + m.tall.slice(0, 5).join(', ') + ')');
  }
  await page.goto(base + '/?q=ldap');
  const cites = page.locator('main table.answers details.cites').first();
  const closedH = await cites.evaluate((d) => d.closest('tr').getBoundingClientRect().height);
  await cites.locator('summary').click();
  const opened = await cites.evaluate((d) => ({ open: d.open, h: d.closest('tr').getBoundingClientRect().height, text: d.textContent }));
  check(opened.open && opened.h > closedH && /§/.test(opened.text), 'a row\'s sources open with a click and show the citation');
  await page.screenshot({ path: join(out, 'search-1400x900.png'), fullPage: false });
  // A link to the role builder with roles chosen opens on the answer.
  await page.goto(base + '/roles?role=domain-controller&from=10.0.0.0%2F8');
  const reqTop = await page.evaluate(() => document.querySelector('#req-table tbody tr').getBoundingClientRect().top);
  check(reqTop < 900, 'a role builder link with roles opens with the requirements in the first screen (top ' + Math.round(reqTop) + ')');
  await page.screenshot({ path: join(out, 'roles-result-1400x900.png'), fullPage: false });
  // The By port table sorts by a column when its header is clicked.
  await page.goto(base + '/ports');
  await page.locator('main table.answers thead th', { hasText: 'Service name' }).click();
  const names = await page.$$eval('main table.answers tbody tr', (trs) => trs.slice(0, 60).map((tr) => tr.cells[3].textContent.trim().toLowerCase()));
  check(names.every((n, i) => i === 0 || names[i - 1] <= n), 'clicking "Service name" sorts By port by that column');
  await page.locator('main table.answers thead th', { hasText: 'Port' }).first().click();
  await page.screenshot({ path: join(out, 'ports-1400x900.png'), fullPage: false });
  const footer = await page.locator('footer').textContent();
  check(/facts from \d+ Microsoft documents/.test(footer) && /newest dated \d{4}-\d{2}-\d{2}/.test(footer), 'the footer names how many documents and the newest date (' + footer.trim().slice(0, 120) + ')');

  // 7. A phone (390×844): no page scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const url of ['/', '/?q=ldap', '/services', '/ports', '/roles', '/roles?role=domain-controller&from=10.0.0.0%2F8', '/rpc', '/check']) {
    await page.goto(base + url);
    const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    check(m.sw <= m.cw, 'phone ' + url + ': no horizontal scroll (' + m.sw + ' ≤ ' + m.cw + ')');
  }
  await page.goto(base + '/?q=kerberos');
  await page.screenshot({ path: join(out, 'phone-search.png'), fullPage: false });
  await page.setViewportSize({ width: 1280, height: 900 });

  // 8. The HTML report of one host × 21 ports (18 of ours listening, 3 closed) at
  //    1400×900: no horizontal scroll, and the failing ports in the first viewport.
  const bin = process.env.PORTQ_BIN;
  if (bin) {
    const servers = [];
    for (let i = 0; i < 18; i++) {
      const s = net.createServer((sock) => sock.destroy());
      await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
      servers.push(s);
    }
    const closed = [];
    for (let i = 0; i < 3; i++) {
      const s = net.createServer();
      await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
      closed.push(s.address().port);
      await new Promise((resolve) => s.close(resolve));
    }
    const ports = [...servers.map((s) => s.address().port), ...closed];
    const reports = [['report.html', ['check', '127.0.0.1', '-p', 'tcp:' + ports.join(','), '--no-probe'], closed.map((p) => p + '/tcp')]];
    if (process.env.PORTQ_LAB_DC) {
      reports.push(['report-dc.html', ['check', process.env.PORTQ_LAB_DC, '--role', 'dc'], ['9389/tcp', '123/udp', '138/udp']]);
    }
    try {
      for (const [name, args, failing] of reports) {
        const file = join(out, name);
        try {
          execFileSync(bin, [...args, '--format', 'html', '-o', file, '--force'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
        } catch (e) {
          // Exit 1 is a failed check: the report is still written.
          if (e.status !== 1) throw e;
        }
        const html = readFileSync(file, 'utf8');
        const report = await context.newPage();
        watch(report);
        await report.setViewportSize({ width: 1400, height: 900 });
        await report.setContent(html);
        const m = await report.evaluate(() => {
          const vh = innerHeight;
          const wrong = [...document.querySelectorAll('table.problems tbody tr')].map((tr) => ({
            port: tr.querySelector('a') ? tr.querySelector('a').textContent.trim() : '',
            bottom: tr.getBoundingClientRect().bottom,
            target: tr.querySelector('a') ? !!document.getElementById(tr.querySelector('a').getAttribute('href').slice(1)) : false,
          }));
          return {
            sw: document.documentElement.scrollWidth,
            cw: document.documentElement.clientWidth,
            rows: document.querySelectorAll('table.ports tbody tr').length,
            vh,
            wrong,
            hostNamed: (document.body.textContent.match(/Ports of /g) || []).length,
          };
        });
        check(m.sw <= m.cw, name + ': no horizontal scroll at 1400 px (' + m.sw + ' ≤ ' + m.cw + ')');
        check(m.rows >= 21, name + ': the ports run down the page (' + m.rows + ' rows)');
        check(m.hostNamed === 1, name + ': the host is named once (' + m.hostNamed + ')');
        const shown = m.wrong.map((w) => w.port);
        check(failing.every((f) => shown.includes(f)), name + ': every failing port is listed under "What is wrong" (' + shown.join(', ') + ')');
        check(m.wrong.every((w) => w.bottom <= m.vh), name + ': the failing ports are in the first viewport (' + m.wrong.map((w) => Math.round(w.bottom)).join(', ') + ' ≤ ' + m.vh + ')');
        check(m.wrong.every((w) => w.target), name + ': each failing port links to its evidence row');
        await report.screenshot({ path: join(out, name.replace('.html', '-1400x900.png')), fullPage: false });
        await report.close();
      }
    } finally {
      for (const s of servers) s.close();
    }
  } else {
    check(false, 'PORTQ_BIN is set (run.sh sets it) so that the report can be made');
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
  await close();
  clearTimeout(watchdog);
}

console.log(`${passed.length} passed, ${failures.length} failed; screenshots in ${out}`);
process.exit(failures.length ? 1 : 0);
