// The owner's page in headless Chromium, as a person would use it: first run and login, a new
// package seen on the portal, vouchers generated and one redeemed on the portal, a client
// kicked, a timed-out payment granted from the Attention list, settings saved, a CSRF-less POST
// refused, wrong passwords throttled. Saves a
// screenshot of every page it visits.
//
// node admin.mjs <admin-url> <portal-url> <artifacts-dir>
// Started by tests/admin_browser.rs, which prepares Lango (a paying client online, payments
// over 30 days, DHCP leases) and checks the database afterwards.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [admin, portal, artifacts] = process.argv.slice(2);
if (!admin || !portal || !artifacts) {
  console.error('usage: node admin.mjs <admin-url> <portal-url> <artifacts-dir>');
  process.exit(2);
}
const PASSWORD = 'browser password 1';
const KICKED = process.env.LANGO_KICK_MAC; // the paying client the test kicks
const UNPAID = process.env.LANGO_UNPAID_PHONE; // whose payment timed out; the owner grants it
mkdirSync(artifacts, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

const profile = mkdtempSync(join(tmpdir(), 'lango-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 1280, height: 900 },
  acceptDownloads: true,
  // The router's self-signed certificate, accepted once as the owner does after comparing its
  // fingerprint (the footer shows it).
  ignoreHTTPSErrors: true,
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15000);
page.on('dialog', (d) => d.accept()); // "Disconnect …? / Revoke …?" confirmations

async function shot(name, p = page) {
  await p.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Clicks a submit button and returns the response of the page it leads to. */
async function submit(locator, p = page) {
  const [resp] = await Promise.all([p.waitForNavigation(), locator.click()]);
  return resp;
}

async function text(p = page) {
  return p.locator('body').innerText();
}

try {
  // First run: the page asks for a password.
  let resp = await page.goto(admin + '/');
  check(page.url().endsWith('/setup'), 'a fresh Lango sends the owner to /setup');
  await shot('01-setup');
  await page.fill('#password', PASSWORD);
  await page.fill('#repeat', PASSWORD);
  resp = await submit(page.getByRole('button', { name: 'Save password' }));
  check(resp.status() === 200 && (await text()).includes('Last 30 days'), 'setting the password logs in to the Overview');

  // Log out, log in.
  await submit(page.getByRole('button', { name: 'Log out' }));
  check(page.url().endsWith('/login'), 'logout leads to the login page');
  await shot('02-login');
  await page.fill('#password', PASSWORD);
  resp = await submit(page.getByRole('button', { name: 'Log in' }));
  check(resp.status() === 200 && page.url() === admin + '/', 'login with the password');
  check(admin.startsWith('https://'), 'the owner\'s page is served over HTTPS');
  const cookies = await context.cookies(admin);
  check(cookies.length > 0 && cookies.every((c) => c.secure && c.httpOnly),
    `every cookie is Secure and HttpOnly (${cookies.map((c) => c.name).join(', ')})`);
  check((await page.locator('svg.chart rect.bar').count()) === 30, 'the revenue chart has 30 bars');
  await shot('03-overview');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('03-overview-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // A new package, refused first, then saved and on the portal.
  await page.goto(admin + '/packages');
  await shot('04-packages');
  await page.click('text=Add package');
  await page.fill('#name', '');
  await page.fill('#duration', '45');
  await page.selectOption('#unit', 'd');
  await page.fill('#down', '2000');
  await page.fill('#up', '1');
  await page.fill('#price', '0');
  await page.evaluate(() => document.querySelectorAll('[required]').forEach((e) => e.removeAttribute('required')));
  resp = await submit(page.getByRole('button', { name: 'Save' }));
  check(resp.status() === 400, 'a bad package is refused');
  check((await page.locator('#duration-error').innerText()).includes('1 minute to 30 days'), 'the error shows next to the time');
  check((await page.locator('#down-error').innerText()).includes('0.1 to 1000 Mbps'), 'the error shows next to the speed');
  await shot('05-package-errors');
  await page.fill('#name', 'Browser Special');
  await page.fill('#duration', '2');
  await page.selectOption('#unit', 'h');
  await page.fill('#down', '4');
  await page.fill('#up', '1.5');
  await page.fill('#price', '35');
  resp = await submit(page.getByRole('button', { name: 'Save' }));
  check(page.url().endsWith('/packages') && (await text()).includes('Browser Special'), 'the package is saved');
  const shop = await context.newPage();
  await shop.goto(portal + '/');
  const shopText = await text(shop);
  check(shopText.includes('Browser Special') && shopText.includes('KES 35'), 'the new package is on the portal at once');
  await shot('06-portal-with-new-package', shop);

  // Vouchers: generate a batch for it, print, redeem one on the portal.
  await page.goto(admin + '/vouchers');
  await page.selectOption('#package', { label: 'Browser Special — 2 h, 4 Mbps, KES 35' });
  await page.fill('#count', '30');
  resp = await submit(page.getByRole('button', { name: 'Generate' }));
  check((await text()).includes('30 vouchers generated.'), 'a batch of 30 vouchers');
  await shot('07-voucher-batch');
  const codes = await page.locator('table .mono').allInnerTexts();
  const code = codes.find((c) => /^[A-Z2-9]{5}-[A-Z2-9]{5}$/.test(c));
  check(!!code, `a code is listed (${code})`);
  await page.click('text=Print sheet');
  check((await page.locator('.card').count()) === 30, 'the print sheet has 30 cards');
  check((await page.locator('.page').count()) === 2, 'on two A4 pages');
  await shot('08-voucher-print');
  await page.pdf({ path: join(artifacts, '08-voucher-print.pdf'), format: 'A4', preferCSSPageSize: true });
  await page.emulateMedia({ media: 'print' });
  await shot('08-voucher-print-media');
  await page.emulateMedia({ media: 'screen' });
  await page.goto(admin + '/vouchers');
  await shot('09-vouchers');

  await shop.goto(portal + '/');
  await shop.fill('#code', code.toLowerCase());
  await submit(shop.getByRole('button', { name: 'Use voucher' }), shop);
  const online = await text(shop);
  check(online.includes('Voucher accepted') && online.includes('You are online'), 'the voucher puts the browser online on the portal');
  await shot('10-portal-online', shop);

  // Clients: the paying client is listed and kicked.
  await page.goto(admin + '/clients');
  check((await text()).includes(KICKED), `the paying client ${KICKED} is listed`);
  await shot('11-clients');
  const row = page.locator('tr', { hasText: KICKED });
  await submit(row.getByRole('button', { name: 'Kick' }));
  const after = await text();
  check(after.includes(`${KICKED} was disconnected.`), 'kicking says so');
  check((await page.locator('tr', { hasText: KICKED }).count()) === 0, 'the kicked client is no longer listed');
  await shot('12-clients-after-kick');

  // Payments: the Attention list shows the timed-out payment with its whole number; the owner
  // checks the statement and grants what was paid.
  await page.goto(admin + '/payments');
  await shot('13-payments');
  const unpaid = page
    .locator('tr', { hasText: UNPAID })
    .filter({ has: page.getByRole('button', { name: 'Grant what was paid' }) });
  check((await unpaid.count()) === 1, `the timed-out payment of ${UNPAID} is on the Attention list`);
  await unpaid.locator('input[name="why"]').fill('seen on the M-Pesa statement');
  await submit(unpaid.getByRole('button', { name: 'Grant what was paid' }));
  check((await text()).includes('counted as paid'), 'granting what was paid says so');
  check((await page.locator('tr', { hasText: UNPAID }).filter({ has: page.getByRole('button', { name: 'Grant what was paid' }) }).count()) === 0, 'the payment has left the Attention list');
  check((await text()).includes('granted by the owner'), 'the grant is listed among the recoveries');
  await shot('13-payments-granted');
  await page.selectOption('#state', 'paid');
  await submit(page.getByRole('button', { name: 'Filter' }));
  check(page.url().includes('state=paid'), 'payments filtered by state');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export CSV')]);
  const csvName = download.suggestedFilename();
  check(/^lango-payments-\d{4}-\d{2}-\d{2}\.csv$/.test(csvName), `the CSV downloads as ${csvName}`);
  await download.saveAs(join(artifacts, csvName));

  // Settings: a welcome line on the portal.
  await page.goto(admin + '/settings');
  await shot('14-settings');
  await page.fill('#welcome', 'Karibu! Wi-Fi by the hour.');
  await submit(page.getByRole('button', { name: 'Save & Apply' }));
  check((await text()).includes('Saved and applied.'), 'settings saved and applied');
  await shop.goto(portal + '/?lang=en');
  check((await text(shop)).includes('Karibu! Wi-Fi by the hour.'), 'the portal shows the welcome line at once');
  await shot('15-portal-welcome', shop);

  await page.goto(admin + '/password');
  await shot('16-password');

  // A POST without the CSRF token, from a form built in the page, is refused.
  await page.goto(admin + '/clients');
  resp = await Promise.all([
    page.waitForNavigation(),
    page.evaluate(() => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/clients/kick';
      const i = document.createElement('input');
      i.name = 'mac';
      i.value = '02:aa:00:00:00:01';
      f.appendChild(i);
      document.body.appendChild(f);
      f.submit();
    }),
  ]).then(([r]) => r);
  check(resp.status() === 403 && (await text()).includes('CSRF'), 'a POST without the CSRF token is refused (403)');
  await shot('17-csrf-refused');

  // Wrong passwords: five are told so, the sixth try waits.
  await page.goto(admin + '/');
  await submit(page.getByRole('button', { name: 'Log out' }));
  for (let i = 1; i <= 5; i++) {
    await page.fill('#password', `wrong ${i}`);
    resp = await submit(page.getByRole('button', { name: 'Log in' }));
    check(resp.status() === 401, `wrong password ${i} refused`);
  }
  await page.fill('#password', PASSWORD);
  resp = await submit(page.getByRole('button', { name: 'Log in' }));
  check(resp.status() === 429 && (await text()).includes('Too many wrong passwords'), 'the sixth try is throttled (429)');
  await shot('18-throttled');
  console.log('all browser checks passed');
} catch (e) {
  await shot('failure').catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
