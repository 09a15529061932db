// The connector's admin UI, certificates and security in Chromium: a CA added to the trust
// store through the file input (and listed), the trust-all switch with its confirmation, the
// security status before and after, and the UI certificate replaced by uploading a PEM chain
// and key (the next page load is served with it; the harness's context ignores certificate
// errors, the Rust driver checks the served certificate with curl).
// axe-core on every page; screenshots for docs/connector.md (docs/connector-ui/).
//
// Then a backup downloaded from the Backup page (the passwords must match).
//
// Fixture (crates/e2e/tests/e2e/connector_ui_trust_browser.rs): {url, initial_password,
// new_password, ca_file, chain_file, key_file, backup_password, backup_file}.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage, expect } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  page.on('dialog', (d) => d.accept());

  await step('the first logon', async () => {
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

  await step('the security status with its warnings', async () => {
    await page.getByRole('link', { name: 'Security' }).click();
    await page.waitForURL(url('/security'));
    const row = await page.locator('#check-ui_certificate_self_signed').textContent();
    expect(row.includes('warning'), `self-signed UI certificate: ${row}`);
    await checkA11y(page, 'security status');
    await screenshot(page, 'security');
  });

  await step('a CA added through the file input', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access', exact: true }).click();
    await page.getByRole('link', { name: 'Trust store' }).click();
    await page.waitForURL(url('/trust'));
    await checkA11y(page, 'empty trust store');
    await page.getByLabel('Name', { exact: true }).fill('erp-ca');
    await page.getByLabel('PEM file').setInputFiles(fixture.ca_file);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('status').waitFor();
    const rows = await page.locator('tbody').textContent();
    expect(rows.includes('CN=Back-end server CA'), `listed: ${rows}`);
    await checkA11y(page, 'trust store');
    await screenshot(page, 'trust-store');
  });

  await step('trust all needs its confirmation', async () => {
    await page.getByLabel(/^I understand/).check();
    await page.getByRole('button', { name: 'Turn trust all on' }).click();
    await page.locator('#trust-all-warning').waitFor();
    await checkA11y(page, 'trust store with trust all on');
    await screenshot(page, 'trust-all-on');
    await page.getByRole('link', { name: 'Security' }).click();
    const row = await page.locator('#check-trust_all').textContent();
    expect(row.includes('warning'), `trust all: ${row}`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access', exact: true }).click();
    await page.getByRole('link', { name: 'Trust store' }).click();
    await page.getByRole('button', { name: 'Turn trust all off' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.locator('#trust-all-warning').count() === 0, 'the warning goes');
  });

  await step('the system certificate: generate a self-signed one', async () => {
    await page.getByRole('link', { name: 'System certificate' }).click();
    await page.waitForURL(url('/system-certificate'));
    await checkA11y(page, 'system certificate');
    await page.getByLabel('Subject').first().fill('CN=connector-berlin, O=ACME');
    await page.getByLabel('Valid for (days)').fill('90');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByRole('status').waitFor();
    const subject = await page.locator('#system-subject').textContent();
    expect(subject.includes('CN=connector-berlin'), `subject: ${subject}`);
    await page.locator('#csr-subject').fill('CN=connector-berlin, O=ACME');
    await page.getByRole('button', { name: 'Make a key and CSR' }).click();
    await page.getByRole('link', { name: 'Download the CSR' }).waitFor();
    await checkA11y(page, 'system certificate with a pending CSR');
    await screenshot(page, 'system-certificate');
  });

  await step('a domain mapping', async () => {
    await page.getByRole('link', { name: 'Domain mappings' }).click();
    await page.waitForURL(url('/domain-mappings'));
    await checkA11y(page, 'domain mappings (none)');
    await page.getByLabel('Internal domain (what the back end writes)').fill('corp.example');
    await page.getByLabel('Virtual domain (what the client sees)').fill('portal.example');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('status').waitFor();
    const rows = await page.locator('tbody').textContent();
    expect(rows.includes('portal.example'), `listed: ${rows}`);
    await checkA11y(page, 'domain mappings');
    await screenshot(page, 'domain-mappings');
  });

  await step('the UI certificate replaced by PEM upload', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Configuration', exact: true }).click();
    await page.getByRole('link', { name: 'UI certificate' }).click();
    await page.waitForURL(url('/settings/ui-certificate'));
    await checkA11y(page, 'ui certificate (self-signed)');
    await page.getByLabel('Certificate chain (PEM, the server certificate first)').setInputFiles(fixture.chain_file);
    await page.getByLabel('Private key (PEM)').setInputFiles(fixture.key_file);
    await page.getByRole('button', { name: 'Replace' }).first().click();
    await page.getByRole('status').waitFor();
    // A new page load, on the connection the new certificate serves.
    await page.goto(url('/settings/ui-certificate'));
    const facts = await page.locator('dl.facts').textContent();
    expect(facts.includes('CN=Customer UI CA'), `issuer: ${facts}`);
    await checkA11y(page, 'ui certificate (replaced)');
    await screenshot(page, 'ui-certificate');
    await page.getByRole('link', { name: 'Security' }).click();
    const row = await page.locator('#check-ui_certificate_self_signed').textContent();
    expect(row.includes('ok'), `replaced UI certificate: ${row}`);
  });

  await step('a backup downloaded from the Backup page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Configuration', exact: true }).click();
    await page.getByRole('link', { name: 'Backup' }).click();
    await page.waitForURL(url('/settings/backup'));
    await checkA11y(page, 'backup');
    await screenshot(page, 'backup');
    await page.getByLabel('Password for the backup').fill(fixture.backup_password);
    await page.getByLabel('The password again').fill('something else entirely');
    await page.getByRole('button', { name: 'Download backup' }).click();
    const alert = await page.getByRole('alert').textContent();
    expect(alert.includes('differ'), `mismatch: ${alert}`);
    await checkA11y(page, 'backup with an error');
    await page.getByLabel('Password for the backup').fill(fixture.backup_password);
    await page.getByLabel('The password again').fill(fixture.backup_password);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download backup' }).click(),
    ]);
    expect(download.suggestedFilename().endsWith('.age'), `file: ${download.suggestedFilename()}`);
    await download.saveAs(fixture.backup_file);
  });
}
