// The portal's window editing, log book and audit list in Chromium: sign in, extend the open
// window by 4 hours with a new contact, read the system's log book, reserve a later window,
// move it and cancel it, filter the audit list. axe-core on every page; screenshots
// system-edit, logbook, system-reservation, audit for docs/portal.md.
//
// Fixture (crates/e2e/tests/e2e/portal_audit_browser.rs): {url, system_id, admin: {name,
// password}}; the admin's password need not be changed; one window is open on PRD.

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

  await step('extend the open window by 4 hours, with a new contact', async () => {
    await page.goto(url(`/systems/${fixture.system_id}`));
    const before = await page.getByText(/^Open until/).textContent();
    // The form is folded away; the summary opens it (a <details>, no script).
    await page.getByText('Edit this window').click();
    await page.getByLabel('Or extend by (hours)').fill('4');
    await page.getByLabel('Window contact').fill('Carl Contact');
    await checkA11y(page, 'system edit');
    await screenshot(page, 'system-edit');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').waitFor();
    expect((await page.getByRole('status').textContent()).includes('The window is changed.'), 'no notice');
    const after = await page.getByText(/^Open until/).textContent();
    expect(after !== before && after.includes('Carl Contact'), `not changed: ${before} -> ${after}`);
    await checkA11y(page, 'system edited');
  });

  await step('a refused edit keeps what was typed', async () => {
    await page.getByText('Edit this window').click();
    await page.getByLabel('Or extend by (hours)').fill('1000');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('alert').waitFor();
    const text = await page.getByRole('alert').textContent();
    expect(text.includes('20 days'), `alert: ${text}`);
    expect((await page.getByLabel('Or extend by (hours)').inputValue()) === '1000', 'the refused form lost the hours');
    await checkA11y(page, 'system edit refused');
  });

  await step('the log book', async () => {
    await page.getByRole('link', { name: /^Log book of PRD/ }).click();
    await page.waitForURL(new RegExp(`/systems/${fixture.system_id}/logbook$`));
    await page.getByRole('heading', { name: /Log book/ }).waitFor();
    const first = await page.locator('tbody tr').first().textContent();
    expect(first.includes('window.edited'), `newest row: ${first}`);
    await checkA11y(page, 'logbook');
    await screenshot(page, 'logbook');
  });

  await step('reserve a later window, change it, cancel it', async () => {
    await page.goto(url(`/systems/${fixture.system_id}`));
    const at = (days, hour) => {
      const d = new Date(Date.now() + days * 86400000);
      d.setUTCHours(hour, 0, 0, 0);
      return d.toISOString().slice(0, 16);
    };
    await page.getByText('Reserve a later window').click();
    await page.getByLabel('Start (UTC)', { exact: true }).fill(at(3, 8));
    await page.getByLabel('End (UTC)', { exact: true }).fill(at(3, 12));
    await page.getByLabel('Reservation contact', { exact: true }).fill('Rita');
    await page.getByRole('button', { name: 'Reserve', exact: true }).click();
    await page.getByRole('status').waitFor();
    const rsv = page.locator('.reservation');
    expect((await rsv.textContent()).includes(`Reserved from ${at(3, 8).replace('T', ' ')} UTC`), `reservation: ${await rsv.textContent()}`);
    await rsv.getByText('Change this reservation').click();
    expect((await rsv.getByLabel('Reserved start (UTC)').inputValue()) === at(3, 8), 'the form does not show the start');
    await rsv.getByLabel('Reserved start (UTC)').fill(at(4, 9));
    await rsv.getByLabel('Reserved end (UTC)').fill(at(4, 11));
    await rsv.getByLabel('Contact for the reservation').fill('Rita Later');
    await checkA11y(page, 'system reservation');
    await screenshot(page, 'system-reservation');
    await rsv.getByRole('button', { name: 'Save reservation' }).click();
    await page.getByRole('status').waitFor();
    expect((await page.locator('.reservation').textContent()).includes(`Reserved from ${at(4, 9).replace('T', ' ')} UTC`), 'not moved');
    await page.locator('.reservation').getByRole('button', { name: /^Cancel reservation/ }).click();
    await page.getByRole('status').waitFor();
    expect((await page.getByRole('status').textContent()).includes('The reservation is cancelled.'), 'no notice');
    expect((await page.locator('.reservation').count()) === 0, 'the reservation is still listed');
    await checkA11y(page, 'system reservation cancelled');
  });

  await step('the audit list, filtered by action, by keyboard', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.waitForURL(/\/audit$/);
    await checkA11y(page, 'audit');
    await page.getByLabel('Action starts with').fill('window.');
    await page.getByLabel('Action starts with').press('Enter');
    await page.waitForURL(/\/audit\?action=window\./);
    const actions = await page.locator('tbody tr td:nth-child(4)').allTextContents();
    expect(actions.length >= 2 && actions.every((a) => a.startsWith('window.')), `actions: ${actions}`);
    await checkA11y(page, 'audit filtered');
    await screenshot(page, 'audit');
  });

  await step('the chain check explains itself to a company admin', async () => {
    await page.getByRole('button', { name: 'Check the chain' }).click();
    await page.getByRole('alert').waitFor();
    const text = await page.getByRole('alert').textContent();
    expect(text.includes('administrators and auditors'), `alert: ${text}`);
    await checkA11y(page, 'audit verify refused');
  });
}
