// The portal in Chromium: sign-in with the forced password change, the home KPI, the
// systems list, the system page's open → refused beyond 20 days → open → close cycle, a user
// without authorization, keyboard-only sign-in, sign-out. axe-core on every page; a
// screenshot of every page for docs/portal.md.
//
// Fixture (crates/e2e/tests/e2e/portal_browser.rs): {url, system_id, admin: {name,
// password}, viewer: {name, password}}; the admin's password is a one-time password.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  const expect = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };
  const kpi = async (p, name) => (await p.locator(`[data-kpi="${name}"]`).first().textContent()).trim();

  await step('the sign-in page', async () => {
    await page.goto(url('/'));
    expect(page.url().endsWith('/signin'), `not sent to sign in: ${page.url()}`);
    await checkA11y(page, 'sign-in');
    await screenshot(page, 'signin');
  });

  await step('a wrong password is refused with one message', async () => {
    await page.getByLabel('User name').fill(fixture.admin.name);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    const text = await page.getByRole('alert').textContent();
    expect(text.includes('The user name or password is wrong'), `alert: ${text}`);
    await checkA11y(page, 'sign-in refused');
    await screenshot(page, 'signin-refused');
  });

  await step('the one-time password leads to the forced change', async () => {
    await page.getByLabel('User name').fill(fixture.admin.name);
    await page.getByLabel('Password').fill(fixture.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/password$/);
    await page.getByRole('heading', { name: 'Change your password' }).waitFor();
    await checkA11y(page, 'password change');
    await screenshot(page, 'password');
    await page.goto(url('/systems'));
    expect(page.url().endsWith('/password'), `the change can be skipped: ${page.url()}`);
  });

  const chosen = 'tulip-river-9-stone';
  await step('choosing a password opens the home page', async () => {
    await page.getByLabel('Current password').fill(fixture.admin.password);
    await page.getByLabel('New password', { exact: true }).fill(chosen);
    await page.getByLabel('Repeat the new password').fill(chosen);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(url('/'));
    expect((await kpi(page, 'open-connections')) === '0', 'KPI not 0');
    await checkA11y(page, 'home');
    await screenshot(page, 'home');
  });

  await step('the systems list and the system page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Systems' }).click();
    await page.waitForURL(/\/systems$/);
    await checkA11y(page, 'systems');
    await screenshot(page, 'systems');
    await page.getByRole('link', { name: 'PRD' }).click();
    await page.waitForURL(new RegExp(`/systems/${fixture.system_id}$`));
    await checkA11y(page, 'system');
    await screenshot(page, 'system');
  });

  await step('more than 20 days is refused with the rule shown', async () => {
    await page.getByLabel('Contact person').fill('Anna Admin');
    await page.getByLabel('Open for (hours)').fill('481');
    await page.getByRole('button', { name: 'Open connection' }).click();
    await page.getByRole('alert').waitFor();
    const text = await page.getByRole('alert').textContent();
    expect(text.includes('20 days'), `alert: ${text}`);
    const kept = await page.getByLabel('Contact person').inputValue();
    expect(kept === 'Anna Admin', `the refused form lost the contact: ${kept}`);
    expect((await page.getByLabel('Open for (hours)').inputValue()) === '481', 'the refused form lost the hours');
    await checkA11y(page, 'system refused');
    await screenshot(page, 'system-refused');
  });

  await step('open for 8 hours, see it open, close it', async () => {
    await page.getByLabel('Contact person').fill('Anna Admin');
    await page.getByLabel('Open for (hours)').fill('8');
    await page.getByRole('button', { name: 'Open connection' }).click();
    await page.getByRole('status').waitFor();
    expect((await page.getByRole('status').textContent()).includes('The connection is open.'), 'no notice');
    expect((await kpi(page, 'open')) === '1', 'system KPI open != 1');
    await checkA11y(page, 'system open');
    await screenshot(page, 'system-open');
    await page.goto(url('/'));
    expect((await kpi(page, 'open-connections')) === '1', 'home KPI != 1');
    await page.locator('[data-kpi="open-connections"]').click();
    await page.waitForURL(/\/windows$/);
    await checkA11y(page, 'open connections');
    await screenshot(page, 'windows');
    await page.goto(url(`/systems/${fixture.system_id}`));
    await page.getByRole('button', { name: 'Close connection' }).click();
    await page.getByRole('status').waitFor();
    expect((await page.getByRole('status').textContent()).includes('The connection is closed.'), 'no close notice');
    expect((await kpi(page, 'open')) === '0', 'system KPI open != 0 after close');
  });

  await step('the audit list filters in place (htmx)', async () => {
    await page.goto(url('/audit'));
    await page.evaluate(() => { window.__stillThisPage = true; });
    await page.getByLabel('Action starts with').fill('window.');
    await page.waitForURL(/[?&]action=window\./);
    await page.locator('#results tbody tr').first().waitFor();
    const actions = await page.locator('#results tbody tr td:nth-child(4)').allTextContents();
    expect(actions.length > 0 && actions.every((a) => a.startsWith('window.')), `not filtered: ${actions}`);
    expect(await page.evaluate(() => window.__stillThisPage === true), 'the filter reloaded the whole page');
    await checkA11y(page, 'audit filtered in place');
  });

  await step('a narrow window', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(url(`/systems/${fixture.system_id}`));
    await checkA11y(page, 'system page, narrow');
    await screenshot(page, 'system-narrow');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow <= 0, `the page is ${overflow}px wider than a 390px window`);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step('the live sessions page', async () => {
    await page.goto(url('/sessions'));
    await page.getByRole('heading', { name: 'Live sessions' }).waitFor();
    await checkA11y(page, 'live sessions');
  });

  await step('the system data form', async () => {
    await page.goto(url(`/systems/${fixture.system_id}`));
    await page.getByRole('link', { name: 'Edit system data' }).click();
    await page.waitForURL(new RegExp(`/systems/${fixture.system_id}/edit$`));
    await checkA11y(page, 'system data');
    await screenshot(page, 'system-data');
    await page.goto(url('/systems/new'));
    await checkA11y(page, 'new system');
  });

  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/signin$/);
    await page.goto(url('/'));
    expect(page.url().endsWith('/signin'), 'still signed in after sign-out');
  });

  await step('a user without authorization signs in by keyboard and sees no open button', async () => {
    const p = await newPage(browser);
    await p.goto(url('/signin'));
    // The user name field has the focus (autofocus, which Chromium applies a moment after the
    // load on a busy machine: wait for it rather than type into nothing); Tab reaches the
    // password, Enter sends the form.
    await p.waitForFunction(() => document.activeElement && document.activeElement.id === 'name');
    await p.keyboard.type(fixture.viewer.name);
    await p.keyboard.press('Tab');
    await p.keyboard.type(fixture.viewer.password);
    await p.keyboard.press('Enter');
    await p.waitForURL(url('/'));
    await p.goto(url(`/systems/${fixture.system_id}`));
    expect((await p.getByRole('button', { name: 'Open connection' }).count()) === 0, 'viewer sees an open button');
    await checkA11y(p, 'system as viewer');
    await screenshot(p, 'system-viewer');
    await p.close();
  });
}
