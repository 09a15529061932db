// The connector admin UI's monitoring, live sessions and audit viewer in Chromium: the
// hardware charts of the last hour (SVG with lines), the performance, usage and back-end
// connection pages, cutting a live session, the audit viewer with a filter and the chain
// check, the audit level set to all. axe-core on every page; screenshots for docs/connector.md (docs/connector-ui/).
//
// Fixture (crates/e2e/tests/e2e/connector_ui_monitoring_browser.rs): {url, initial_password,
// new_password}; one echo session is open through the hub while the scenario runs.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage, expect } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  page.on('dialog', (d) => d.accept());

  await step('logon and the forced password change', async () => {
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

  await step('the hardware charts of the last hour', async () => {
    await page.getByRole('link', { name: 'Monitoring' }).click();
    await page.waitForURL(url('/monitoring/hardware'));
    const span = await page.getByLabel('Span').inputValue();
    expect(span === '1h', `span ${span}`);
    for (const id of ['cpu', 'memory', 'disk']) {
      const svg = page.locator(`svg[aria-labelledby="${id}-title ${id}-desc"]`);
      expect((await svg.count()) === 1, `the ${id} chart is there`);
      const lines = await svg.locator('polyline.chart-line, circle.chart-dot').count();
      expect(lines > 0, `the ${id} chart has points`);
    }
    await checkA11y(page, 'monitoring hardware');
    await screenshot(page, 'monitoring-hardware');
    await page.getByLabel('Span').selectOption('24h');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(url('/monitoring/hardware?span=24h'));
  });

  await step('performance, usage and back-end connections', async () => {
    await page.getByRole('link', { name: 'Performance' }).click();
    await page.waitForURL(url('/monitoring/performance'));
    const recent = await page.locator('table').nth(1).textContent();
    expect(recent.includes('web.internal:80'), `recent: ${recent}`);
    await checkA11y(page, 'monitoring performance');
    await screenshot(page, 'monitoring-performance');
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.waitForURL(url('/monitoring/usage'));
    await checkA11y(page, 'monitoring usage');
    await screenshot(page, 'monitoring-usage');
    await page.getByRole('link', { name: 'Back-end connections' }).click();
    await page.waitForURL(url('/monitoring/connections'));
    const conns = await page.locator('table').textContent();
    expect(conns.includes('echo.internal:7'), `connections: ${conns}`);
    await checkA11y(page, 'monitoring connections');
    await screenshot(page, 'monitoring-connections');
  });
  await step('the alerts and what waits to be delivered', async () => {
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL(url('/monitoring/alerts'));
    const status = await page.getByRole('status').first().textContent();
    expect(/1 active alert/.test(status), `status: ${status}`);
    const alerts = await page.locator('table').first().textContent();
    expect(alerts.includes('certificate') && alerts.includes('active'), `alerts: ${alerts}`);
    const waiting = await page.locator('table').nth(1).textContent();
    expect(waiting.includes('webhook 127.0.0.1#') && !waiting.includes('/alerts'), `waiting (the URL's path is never shown): ${waiting}`);
    await checkA11y(page, 'monitoring alerts');
    await screenshot(page, 'monitoring-alerts');
  });

  await step('the live sessions, and cutting one', async () => {
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.waitForURL(url('/sessions'));
    const rows = await page.locator('tbody tr').textContent();
    expect(rows.includes('echo.internal:7'), `sessions: ${rows}`);
    await checkA11y(page, 'sessions');
    await screenshot(page, 'sessions');
    await page.getByRole('button', { name: /^Cut session/ }).first().click();
    await page.waitForURL(/\/sessions\?cut=/);
    const notice = await page.locator('p.ok').textContent();
    expect(notice.includes('is cut'), `notice: ${notice}`);
  });

  await step('the audit viewer with a filter, and the chain check', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.waitForURL(url('/audit'));
    await page.getByLabel('Action').selectOption('session.cut');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/audit\?.*action=session.cut/);
    const rows = await page.locator('tbody').textContent();
    expect(rows.includes('session.cut') && rows.includes('Administrator'), `rows: ${rows}`);
    await checkA11y(page, 'audit viewer');
    await page.getByRole('button', { name: 'Check the hash chain' }).click();
    const ok = await page.locator('#chain-result').textContent();
    expect(ok.includes('intact'), `chain: ${ok}`);
    await checkA11y(page, 'audit chain check');
    await screenshot(page, 'audit');
  });

  await step('the audit level set to all', async () => {
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.waitForURL(url('/audit/settings'));
    await checkA11y(page, 'audit settings');
    await page.getByLabel(/^All: /).check();
    await page.getByLabel('Retention in days').fill('90');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(url('/audit/settings?saved=1'));
    const notice = await page.locator('p.ok').textContent();
    expect(notice.includes('in force'), `notice: ${notice}`);
    expect(await page.getByLabel(/^All: /).isChecked(), 'all is the level now');
    await checkA11y(page, 'audit settings saved');
    await screenshot(page, 'audit-settings');
  });
}
