// Two-factor sign-in in Chromium, then the user's own tokens: the account page, turning TOTP on with a code computed
// here from the key the page shows (RFC 6238, as an authenticator app does), and the code
// step of the next sign-in. axe-core on each page; screenshots for docs/portal.md.
//
// Fixture (crates/e2e/tests/e2e/portal_browser.rs): {url, user: {name, password}}.

import { createHmac } from 'node:crypto';

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

function totp(secret, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const n = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  const expect = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };
  const signIn = async () => {
    await page.goto(url('/signin'));
    await page.getByLabel('User name').fill(fixture.user.name);
    await page.getByLabel('Password').fill(fixture.user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  await step('the account page', async () => {
    await signIn();
    await page.waitForURL(url('/'));
    await page.getByRole('link', { name: new RegExp(fixture.user.name) }).click();
    await page.waitForURL(/\/account$/);
    await checkA11y(page, 'account');
    await screenshot(page, 'account');
  });

  let secret;
  await step('turn two-factor sign-in on', async () => {
    await page.getByRole('link', { name: 'Turn on two-factor sign-in' }).click();
    await page.waitForURL(/\/account\/totp$/);
    await checkA11y(page, 'totp setup');
    await screenshot(page, 'totp-setup');
    secret = base32Decode(await page.locator('#totp-secret').textContent());
    await page.getByLabel('Code').fill(totp(secret, Date.now() / 1000));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('status').waitFor();
    expect((await page.getByRole('status').textContent()).includes('Two-factor sign-in is on.'), 'not on');
  });

  await step('the next sign-in asks for the code', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/signin$/);
    await signIn();
    await page.waitForURL(/\/signin\/code$/);
    await checkA11y(page, 'code');
    await screenshot(page, 'signin-code');
    await page.getByLabel('Code').fill(totp(secret, Date.now() / 1000));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(url('/'));
  });

  await step('the own tokens page: make a token, see it once', async () => {
    await page.goto(url('/account/tokens'));
    await checkA11y(page, 'tokens');
    await page.getByLabel('Name').fill('laptop');
    await page.getByLabel('Expires after (days)').fill('30');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByRole('heading', { name: /Token .laptop. created/ }).waitFor();
    const token = (await page.locator('#new-token').textContent()).trim();
    expect(token.startsWith('pct_'), `no token shown: ${token}`);
    await checkA11y(page, 'token created');
    await screenshot(page, 'token-created');
    await page.goto(url('/account/tokens'));
    expect(!(await page.content()).includes(token), 'the token is shown again');
    await screenshot(page, 'tokens');
  });
}
