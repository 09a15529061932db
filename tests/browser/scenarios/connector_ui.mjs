// The connector's admin UI in Chromium: the first logon with the initial password and the
// forced change, the hub connection page, the windows page and closing a window, the Users
// page with a new Display user, the logon text, the Display user's windows page without a
// close button, and her own API token.
// axe-core on every page; screenshots for docs/connector.md (docs/connector-ui/).
//
// Fixture (crates/e2e/tests/e2e/connector_ui_browser.rs): {url, initial_password, window (open
// now), reserved (a reservation, still closable after the first is closed), new_password}.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage, expect } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  page.on('dialog', (d) => d.accept());

  const logOn = async (name, password) => {
    await page.goto(url('/signin'));
    await page.getByLabel('User name').fill(name);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log on', exact: true }).click();
  };
  const changePassword = async (current) => {
    await page.waitForURL(url('/password'));
    await page.getByLabel('Current password').fill(current);
    await page.getByLabel('New password', { exact: true }).fill(fixture.new_password);
    await page.getByLabel('Repeat the new password').fill(fixture.new_password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(url('/'));
  };

  await step('the logon page', async () => {
    await page.goto(url('/'));
    await page.waitForURL(url('/signin'));
    await checkA11y(page, 'logon');
    await screenshot(page, 'logon');
  });

  await step('the first logon forces a password change', async () => {
    await logOn('Administrator', fixture.initial_password);
    await page.waitForURL(url('/password'));
    const notice = await page.locator('p.notice').textContent();
    expect(notice.includes('initial one'), `notice: ${notice}`);
    await page.goto(url('/windows'));
    await page.waitForURL(url('/password'));
    await checkA11y(page, 'forced password change');
    await screenshot(page, 'password-change');
    await changePassword(fixture.initial_password);
  });

  await step('the hub connection', async () => {
    const facts = await page.locator('dl.facts').textContent();
    for (const f of ['connected', 'berlin', 'Client certificate expires']) {
      expect(facts.includes(f), `${f} missing from ${facts}`);
    }
    await checkA11y(page, 'hub connection');
    await screenshot(page, 'hub-connection');
  });

  await step('the windows, and closing one', async () => {
    await page.getByRole('link', { name: 'Windows' }).click();
    await page.waitForURL(url('/windows'));
    await checkA11y(page, 'windows');
    await screenshot(page, 'windows');
    await page.getByLabel(`Reason for closing window ${fixture.window}`).fill('change freeze');
    await page.getByRole('button', { name: new RegExp(`^Close window ${fixture.window} `) }).click();
    await page.waitForURL(/\/windows\?closed=/);
    const status = await page.getByRole('status').textContent();
    expect(status.includes(`Window ${fixture.window} is closed.`), `status: ${status}`);
    const row = await page.locator('tbody tr', { hasText: 'closed at the connector' }).first().textContent();
    expect(row.includes('closed at the connector by Administrator'), `row: ${row}`);
    await checkA11y(page, 'windows after a close');
  });

  let once = '';
  await step('the users, and a new Display user', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Configuration', exact: true }).click();
    await page.getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(url('/users'));
    await checkA11y(page, 'users');
    await page.getByLabel('User name').fill('dora');
    await page.getByLabel('Role').selectOption('Display');
    await page.getByRole('button', { name: 'Create with a one-time password' }).click();
    once = (await page.locator('code.secret-value').textContent()).trim();
    expect(once.length === 20, `one-time password: ${once}`);
    await checkA11y(page, 'users with a new user');
    await screenshot(page, 'users');
  });

  await step('the logon text, shown on the logon page', async () => {
    await page.getByRole('link', { name: 'Logon text' }).click();
    await page.waitForURL(url('/settings/logon-text'));
    await page.getByLabel('Text', { exact: true }).fill(
      '<p>Questions? Call the <strong>IT desk</strong>, +49 30 1234, or see <a href="https://it.example/portcullis">the guide</a>.</p>',
    );
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').waitFor();
    await checkA11y(page, 'logon text');
    await screenshot(page, 'logon-text');
  });

  await step('a Display user sees no close button', async () => {
    await page.getByRole('button', { name: 'Log off' }).click();
    await page.waitForURL(url('/signin'));
    const text = await page.locator('.logon-text').textContent();
    expect(text.includes('IT desk'), `logon text: ${text}`);
    await checkA11y(page, 'logon with its text');
    await logOn('dora', once);
    await changePassword(once);
    await page.getByRole('link', { name: 'Windows' }).click();
    await page.waitForURL(url('/windows'));
    const rows = await page.locator('tbody').textContent();
    expect(rows.includes('reserved'), `the reservation is listed: ${rows}`);
    const closes = await page.getByRole('button', { name: /^Close window/ }).count();
    expect(closes === 0, `${closes} close buttons for a Display user`);
    const users = await page.getByRole('link', { name: 'Users' }).count();
    expect(users === 0, 'a Display user has no Users link');
    await checkA11y(page, 'windows of a Display user');
  });

  await step('her own API token', async () => {
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.waitForURL(url('/tokens'));
    await checkA11y(page, 'API tokens');
    await page.getByLabel('Name').fill('reporting script');
    await page.getByRole('button', { name: 'Make a token' }).click();
    const token = (await page.locator('code.secret-value').textContent()).trim();
    expect(token.startsWith('pcc_'), `token: ${token}`);
    await checkA11y(page, 'API tokens with a new one');
    await screenshot(page, 'tokens');
  });
}
