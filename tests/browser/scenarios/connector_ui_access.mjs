// The connector admin UI's access control in Chromium: the list, the wizard walked with the
// keyboard-usable forms (an HTTP entry), the entry listed, a resource added, and a conflict:
// the edit form is opened, the entry is changed through the REST API meanwhile, the form's
// save is refused with the conflict message (409). axe-core on every page; screenshots of
// the list, the wizard's steps, the entry, its resources and the conflict.
//
// Fixture (crates/e2e/tests/e2e/connector_ui_access_browser.rs): {url, initial_password,
// new_password, backend (host:port of an HTTP back end)}.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage, expect } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  page.on('dialog', (d) => d.accept());

  await step('first logon', async () => {
    await page.goto(url('/signin'));
    await page.getByLabel('User name').fill('Administrator');
    await page.getByLabel('Password').fill(fixture.initial_password);
    await page.getByRole('button', { name: 'Log on', exact: true }).click();
    await page.waitForURL(url('/password'));
    await page.getByLabel('Current password').fill(fixture.initial_password);
    await page.getByLabel('New password', { exact: true }).fill(fixture.new_password);
    await page.getByLabel('Repeat the new password').fill(fixture.new_password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(url('/'));
  });

  await step('the access control list', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access', exact: true }).click();
    await page.getByRole('navigation', { name: 'Access' }).getByRole('link', { name: 'Access control' }).click();
    await page.waitForURL(url('/access'));
    await page.waitForURL(url('/access'));
    const table = await page.locator('table.list').textContent();
    expect(table.includes('generic_tcp') || table.includes('echo'), `table: ${table}`);
    await checkA11y(page, 'access list');
    await screenshot(page, 'access-list');
  });

  const heading = async () => (await page.locator('#step-h').textContent()).trim();
  await step('the wizard, with the keyboard', async () => {
    await page.getByRole('link', { name: 'Add entry' }).click();
    await page.waitForURL(url('/access/new'));
    expect((await heading()) === 'Step 1: Name and back-end type', await heading());
    await checkA11y(page, 'wizard step 1');
    await page.getByLabel('Back-end type', { exact: true }).selectOption('nonSAPsys');
    await page.getByLabel('Name', { exact: true }).fill('web');
    await screenshot(page, 'access-wizard-1-backend');
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await page.waitForLoadState();
    expect((await heading()) === 'Step 2: Protocol', await heading());
    await checkA11y(page, 'wizard step 2');
    // The radio group by keyboard: focus the first, arrow to http is where it starts.
    await page.getByLabel('http', { exact: true }).focus();
    await page.keyboard.press('Space');
    await screenshot(page, 'access-wizard-2-protocol');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForLoadState();
    expect((await heading()) === 'Step 3: Internal host', await heading());
    await page.getByLabel('Internal host and port', { exact: true }).fill(fixture.backend);
    await page.getByLabel('Internal host and port', { exact: true }).press('Enter');
    await page.waitForLoadState();
    expect((await heading()) === 'Step 4: Virtual host', await heading());
    // A virtual host another entry has is refused on this step, with its reason.
    await page.getByLabel('Virtual host and port', { exact: true }).fill(fixture.taken);
    await page.getByLabel('Virtual host and port', { exact: true }).press('Enter');
    await page.waitForLoadState();
    const err = await page.getByRole('alert').textContent();
    expect(err.includes('overlap'), `error: ${err}`);
    await checkA11y(page, 'wizard step 4 refused');
    await screenshot(page, 'access-wizard-4-refused');
    await page.getByLabel('Virtual host and port', { exact: true }).fill('web.internal:80');
    await page.getByLabel('Virtual host and port', { exact: true }).press('Enter');
    await page.waitForLoadState();
    expect((await heading()) === 'Step 5: Host in request header', await heading());
    await checkA11y(page, 'wizard step 5');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForLoadState();
    expect((await heading()) === 'Step 7: System ID and description', await heading());
    await page.getByLabel('Description (optional)', { exact: true }).fill('the web shop');
    await page.getByLabel('Description (optional)', { exact: true }).press('Enter');
    await page.waitForLoadState();
    expect((await heading()) === 'Step 8: Summary', await heading());
    await checkA11y(page, 'wizard summary');
    await screenshot(page, 'access-wizard-8-summary');
    await page.getByRole('button', { name: 'Add entry' }).click();
    await page.waitForURL(/\/access\/web\?added=1/);
    const status = await page.getByRole('status').textContent();
    expect(status.includes('added and in force'), `status: ${status}`);
    await checkA11y(page, 'entry');
    await screenshot(page, 'access-entry');
  });

  await step('the entry is listed, a resource is added', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access', exact: true }).click();
    await page.getByRole('navigation', { name: 'Access' }).getByRole('link', { name: 'Access control' }).click();
    await page.waitForURL(url('/access'));
    const row = await page.locator('tbody tr', { hasText: 'web.internal:80' }).textContent();
    expect(row.includes('the web shop') && row.includes('http'), `row: ${row}`);
    await page.goto(url('/access/web/resources'));
    await page.getByLabel('URL path', { exact: true }).fill('/hello');
    await page.getByLabel('Access policy', { exact: true }).selectOption('path_and_sub_paths');
    await page.getByRole('button', { name: 'Add resource' }).click();
    await page.waitForURL(/resources\?done=added/);
    const table = await page.locator('table.list').textContent();
    expect(table.includes('/hello') && table.includes('path_and_sub_paths'), `table: ${table}`);
    await checkA11y(page, 'resources');
    await screenshot(page, 'access-resources');
  });

  await step('a concurrent edit is refused with a conflict', async () => {
    await page.goto(url('/access/web'));
    await page.getByLabel('Description', { exact: true }).fill('from the browser');
    // Meanwhile someone else changes the entry through the REST API.
    const auth = { Authorization: 'Basic ' + Buffer.from(`Administrator:${fixture.new_password}`).toString('base64') };
    const got = await page.request.get(url('/api/v1/access/web'), { headers: auth });
    expect(got.ok(), `GET ${got.status()}`);
    const e = await got.json();
    const put = await page.request.put(url('/api/v1/access/web'), {
      headers: auth,
      data: { name: 'web', protocol: 'http', internal: e.internal, virtual: e.virtual, description: 'from the API', version: e.version },
    });
    expect(put.status() === 200, `PUT ${put.status()} ${await put.text()}`);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url() === url('/access/web') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Save' }).click(),
    ]);
    expect(resp.status() === 409, `status ${resp.status()}`);
    const alert = await page.getByRole('alert').textContent();
    expect(alert.includes('was changed by someone else since you opened it'), `alert: ${alert}`);
    const desc = await page.getByLabel('Description', { exact: true }).inputValue();
    expect(desc === 'from the API', `the form shows the entry as it is now: ${desc}`);
    await checkA11y(page, 'conflict');
    await screenshot(page, 'access-conflict');
  });
}
