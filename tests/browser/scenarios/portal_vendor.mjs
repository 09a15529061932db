// The portal's vendor side in Chromium: a support engineer signs in and his home lists the
// connections he can reach now (with the portcullis connect line and the route string), a
// route password is made and shown once, and "Open in browser" leads to the web entry's
// origin of the HTTP service (the page's form-action allows it). axe-core on every page;
// screenshots engineer-home and route-password for docs/portal.md.
//
// Fixture (crates/e2e/tests/e2e/portal_browser.rs): {url, engineer: {name, password},
// ni_service, web_service, web_origin}.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  const expect = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };

  await step('the engineer signs in and sees what he can reach now', async () => {
    await page.goto(url('/signin'));
    await page.getByLabel('User name').fill(fixture.engineer.name);
    await page.getByLabel('Password').fill(fixture.engineer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(url('/'));
    await page.getByRole('heading', { name: 'Connections you can reach now' }).waitFor();
    const rows = await page.locator('table.reach tbody tr').count();
    expect(rows === 2, `expected 2 reachable connections, got ${rows}`);
    const connect = await page.locator(`[data-connect="${fixture.ni_service}"]`).textContent();
    expect(connect.startsWith(`portcullis connect --hub ${fixture.url} `), `connect line: ${connect}`);
    const route = await page.locator(`[data-route="${fixture.ni_service}"]`).textContent();
    expect(route.includes('/W/<route password>/H/r3_support.prd.acme.portcullis/S/3200'), `route: ${route}`);
    await checkA11y(page, 'engineer home');
    await screenshot(page, 'engineer-home');
  });

  await step('a route password, shown once with its route string', async () => {
    await page
      .locator(`tr[data-service="${fixture.ni_service}"]`)
      .getByRole('button', { name: 'Get a route password' })
      .click();
    await page.getByRole('heading', { name: 'Your route password' }).waitFor();
    const pw = (await page.locator('[data-route-password]').textContent()).trim();
    expect(/^pct_[0-9a-f]+_[0-9a-f]+$/.test(pw), `password: ${pw}`);
    const rs = await page.locator('[data-route-string]').textContent();
    expect(rs.includes(`/W/${pw}/H/r3_support.prd.acme.portcullis/S/3200`), `route string: ${rs}`);
    await checkA11y(page, 'route password');
    await screenshot(page, 'route-password');
    await page.goto(url('/'));
    expect(!(await page.content()).includes(pw), 'the home page shows the route password again');
  });

  await step('"Open in browser" leads to the HTTP service through the web entry', async () => {
    const p = page;
    await p.goto(url('/'));
    // The browser follows the 303 to the service's own origin: the request there is the
    // proof (a form-action that did not allow it would block the redirect, and nothing would
    // be asked of the web entry). What the entry answers is the web entry's tests' business.
    const followed = p.waitForRequest((r) => r.url().startsWith(fixture.web_origin), { timeout: 15000 });
    await p
      .locator(`tr[data-service="${fixture.web_service}"]`)
      .getByRole('button', { name: 'Open in browser' })
      .click({ noWaitAfter: true });
    await followed;
  });
}
