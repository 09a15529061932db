// The customer's administration pages in Chromium: sign in as the super administrator,
// create a user (the one-time password is shown once), create a technical user and grant
// it the service connection, register a connector (the enrolment command), revoke one.
// axe-core on every page; screenshots users, user-created, connectors, connector-created for
// docs/portal.md.
//
// Fixture (crates/e2e/tests/e2e/portal_admin_browser.rs): {url, admin: {name, password}};
// the admin's password need not be changed; acme has system PRD with one service connection
// at connector berlin.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  const expect = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };

  await step('sign in', async () => {
    await page.goto(url('/signin'));
    await page.getByLabel('User name').fill(fixture.admin.name);
    await page.getByLabel('Password').fill(fixture.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(url('/'));
  });

  await step('the users page, by the navigation', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(/\/users$/);
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await checkA11y(page, 'users');
  });

  await step('create a user with an authorization', async () => {
    await page.getByLabel('User name').fill('bob');
    await page.getByLabel('Display name').fill('Bob Builder');
    await page.getByLabel('E-mail').fill('bob@acme.example');
    await page.getByRole('radio', { name: 'User', exact: true }).check();
    await page.getByRole('checkbox', { name: 'Open service connections' }).check();
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('status').waitFor();
    const pw = (await page.locator('[data-secret]').textContent()).trim();
    expect(pw.length >= 12, `one-time password: ${pw}`);
    await checkA11y(page, 'user created');
    await screenshot(page, 'user-created');
  });

  await step('create a technical user and grant it PRD', async () => {
    await page.goto(url('/users'));
    await page.getByLabel('User name').fill('ci-bot');
    await page.getByLabel('Display name').fill('Build pipeline');
    await page.getByRole('radio', { name: 'Technical user' }).check();
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.waitForURL(/\/users\/\d+\?done=created$/);
    await page.getByLabel('Service connection').selectOption({ index: 0 });
    await page.getByRole('button', { name: 'Grant' }).click();
    await page.waitForURL(/done=grant-created$/);
    expect((await page.locator('[data-grant]').count()) === 1, 'no grant row');
    await checkA11y(page, 'technical user');
    await page.goto(url('/users'));
    const rows = await page.locator('tbody tr').allTextContents();
    expect(rows.some((r) => r.includes('bob') && r.includes('Open service connections')), `rows: ${rows}`);
    await screenshot(page, 'users');
  });

  await step('register a connector: the enrolment command', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connectors' }).click();
    await page.waitForURL(/\/connectors$/);
    await checkA11y(page, 'connectors');
    await page.getByLabel('Location').fill('hamburg');
    await page.getByRole('button', { name: 'Register connector' }).click();
    await page.getByRole('status').waitFor();
    const cmd = (await page.locator('[data-enrol-command]').textContent()).trim();
    expect(cmd.startsWith('portcullis connector enroll --hub ') && cmd.includes('--token PCE1'), `command: ${cmd}`);
    // portal.js adds a Copy button beside it (the command stays selectable without it).
    await page.getByRole('button', { name: 'Copy the enrolment command' }).waitFor();
    await checkA11y(page, 'connector created');
    await screenshot(page, 'connector-created');
  });

  await step('revoke the new connector, by keyboard', async () => {
    await page.goto(url('/connectors'));
    const row = page.locator('tr', { hasText: 'hamburg' });
    await row.getByRole('checkbox', { name: 'Yes, revoke hamburg' }).focus();
    await page.keyboard.press('Space');
    await row.getByRole('button', { name: 'Revoke hamburg' }).focus();
    page.once('dialog', (d) => d.accept());
    await page.keyboard.press('Enter');
    await page.waitForURL(/done=revoked$/);
    const text = await page.locator('tr', { hasText: 'hamburg' }).textContent();
    expect(text.includes('revoked'), `row: ${text}`);
    const health = await page.locator('tr', { hasText: 'munich' }).locator('td.health').textContent();
    expect(health.includes('1 of 1 back ends reachable') && health.includes('GB free'), `health: ${health}`);
    await checkA11y(page, 'connector revoked');
    await screenshot(page, 'connectors');
  });
}
