// The portal's vendor side in Chromium: a support engineer signs in and his home lists the
// connections he can reach now (with the portcullis connect line and the route string), a
// route password is made and shown once, and "Open in browser" opens the HTTP service on its
// own origin through the web entry, with the entry's banner (system, window end, sign-out)
// on the service's page, and the banner's sign-out ends the web session. axe-core on every
// page (on the service's page: the banner only). Where the customer allows it (QAS), he
// opens a connection for himself: beyond 20 days is refused with the rule, 8 hours opens it
// and it joins what he can reach now, and he closes it again. Screenshots engineer-home,
// route-password, web-banner, engineer-independent-refused and engineer-independent for
// docs/portal.md.
//
// Fixture (crates/e2e/tests/e2e/portal_browser.rs): {url, engineer: {name, password},
// ni_service, web_service, web_origin, web_until, independent_service}.

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

  await step('"Open in browser" opens the HTTP service with the web entry\'s banner', async () => {
    const p = page;
    await p.goto(url('/'));
    // The browser follows the 303 to the service's own origin (the page's form-action allows
    // it), the login page there sends the ticket from the fragment, and the service's start
    // page comes back through the entry with the banner.
    await p
      .locator(`tr[data-service="${fixture.web_service}"]`)
      .getByRole('button', { name: 'Open in browser' })
      .click();
    await p.waitForURL(`${fixture.web_origin}/start`, { timeout: 15000 });
    await p.getByRole('heading', { name: 'ERP start page' }).waitFor();
    const banner = p.getByRole('complementary', { name: 'Portcullis session' });
    await banner.waitFor();
    expect(await banner.isVisible(), 'the banner is not visible');
    expect((await p.locator('#portcullis-banner').count()) === 1, 'not exactly one banner');
    const text = await banner.textContent();
    expect(text.includes('acme') && text.includes('PRD') && text.includes('HTTP Connect'), `banner: ${text}`);
    expect(text.includes(fixture.web_until), `banner without the window's end ${fixture.web_until}: ${text}`);
    // Styled by the entry's stylesheet, which the service's own CSP (default-src 'self')
    // lets in: no inline style was needed.
    const look = await p.locator('#portcullis-banner').evaluate((el) => {
      const cs = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return { bg: cs.backgroundColor, display: cs.display, top: r.top, height: r.height };
    });
    expect(look.bg === 'rgb(15, 23, 42)' && look.display === 'flex', `the banner is not styled: ${JSON.stringify(look)}`);
    // At the top of the page (inside the body's own margin, 8 px by default).
    expect(look.top >= 0 && look.top <= 16 && look.height > 0, `the banner is not at the top: ${JSON.stringify(look)}`);
    // It is first in the body, and the page's own content follows it, not hidden under it.
    const first = await p.evaluate(() => document.body.firstElementChild.tagName);
    expect(first === 'LINK' || first === 'ASIDE', `first in the body: ${first}`);
    const below = await p.getByRole('heading', { name: 'ERP start page' }).evaluate((el) => el.getBoundingClientRect().top);
    expect(below >= look.top + look.height, `the page's heading (${below}) is under the banner (${JSON.stringify(look)})`);
    // axe on the banner only: the service's page is the customer's, not ours to judge.
    await checkA11y(p, 'service page banner', { context: { include: [['#portcullis-banner']] } });
    await screenshot(p, 'web-banner');
  });

  await step('the banner\'s sign-out ends the web session', async () => {
    const p = page;
    await p.getByRole('link', { name: 'Sign out' }).click();
    await p.waitForURL(`${fixture.web_origin}/_portcullis/logout`);
    await checkA11y(p, 'web entry sign-out');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByText('Signed out of the web session.').waitFor();
    const r = await p.goto(`${fixture.web_origin}/start`);
    expect(r.status() === 401, `after sign-out the service answered ${r.status()}`);
    expect((await p.content()).includes('No web session'), 'no "No web session" after sign-out');
  });

  await step('he opens a connection for himself where the customer allows it', async () => {
    await page.goto(url('/'));
    const section = page.getByRole('region', { name: 'Open a connection yourself' });
    await section.waitFor();
    const row = () => page.locator(`tr[data-independent="${fixture.independent_service}"]`);
    const reach = () => page.locator(`table.reach tr[data-service="${fixture.independent_service}"]`);
    expect((await reach().count()) === 0, 'reachable before it was opened');
    expect((await row().getByLabel('Open for (hours)').inputValue()) === '8', 'the hours are not 8 by default');
    await row().getByLabel('Open for (hours)').fill('481');
    await row().getByRole('button', { name: 'Open for me' }).click();
    await page.getByRole('alert').waitFor();
    const alert = await page.getByRole('alert').textContent();
    expect(alert.includes('20 days'), `alert: ${alert}`);
    const kept = await row().getByLabel('Open for (hours)').inputValue();
    expect(kept === '481', `the refused form lost the hours: ${kept}`);
    await checkA11y(page, 'independent opening refused');
    await screenshot(page, 'engineer-independent-refused');

    await row().getByLabel('Open for (hours)').fill('8');
    await row().getByRole('button', { name: 'Open for me' }).click();
    await page.getByRole('status').waitFor();
    const notice = await page.getByRole('status').textContent();
    expect(notice.includes('open for you'), `notice: ${notice}`);
    await reach().waitFor();
    await row().getByRole('button', { name: 'Close' }).waitFor();
    await checkA11y(page, 'independent opening open');
    await screenshot(page, 'engineer-independent');
  });

  await step('he closes his own again', async () => {
    const row = () => page.locator(`tr[data-independent="${fixture.independent_service}"]`);
    await row().getByRole('button', { name: 'Close' }).click();
    await page.getByRole('status').waitFor();
    const notice = await page.getByRole('status').textContent();
    expect(notice.includes('Your connection is closed.'), `notice: ${notice}`);
    const reach = await page.locator(`table.reach tr[data-service="${fixture.independent_service}"]`).count();
    expect(reach === 0, 'still reachable after closing');
    await row().getByRole('button', { name: 'Open for me' }).waitFor();
  });
}
