// The harness's own test, against the tiny site crates/test-support/tests/browser_selftest.rs
// serves with the portal's strict Content-Security-Policy: a form whose button changes a
// text through an external script (/app.js), no inline script anywhere.
export default async function selftest({ browser, fixture, lib }) {
  const { step, expect } = lib;
  const page = await lib.newPage(browser);
  const csp = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) csp.push(m.text());
  });

  await step('open the page', async () => {
    const res = await page.goto(`${fixture.url}/`);
    expect(res && res.ok(), `GET / answered ${res && res.status()}`);
    const policy = res.headers()['content-security-policy'] ?? '';
    expect(policy.includes("script-src 'self'"), `the page is served with the strict CSP (got ${JSON.stringify(policy)})`);
    expect((await page.title()) === 'Harness self-test', `title is ${JSON.stringify(await page.title())}`);
  });

  await step('the external script runs and the button changes the text', async () => {
    await page.locator('html[data-app-ready="1"]').waitFor();
    const status = page.getByRole('status');
    expect((await status.textContent()).trim() === 'Not clicked yet', `initial status: ${await status.textContent()}`);
    await page.getByLabel('Name').fill('Ada');
    await page.getByRole('button', { name: 'Greet' }).click();
    await page.getByText('Hello, Ada!').waitFor();
  });

  await step('the page is accessible', async () => {
    await lib.checkA11y(page, 'selftest /');
  });

  await step('axe injection left the page CSP intact', async () => {
    // An inline script must still be refused: the check runs under the page's real policy.
    const blocked = await page.evaluate(() => {
      window.__inline = false;
      const s = document.createElement('script');
      s.textContent = 'window.__inline = true;';
      document.body.appendChild(s);
      return window.__inline === false;
    });
    expect(blocked, 'an inline script ran: the page CSP is not in force');
    // And the obvious way to inject axe (an inline <script>) is refused: why lib.mjs
    // evaluates it over DevTools instead.
    let refused = false;
    await page.addScriptTag({ content: 'window.__tag = true;' }).catch(() => { refused = true; });
    expect(refused, 'page.addScriptTag({content}) was not refused under the strict CSP');
  });

  await step('screenshot', async () => {
    const file = await lib.screenshot(page, 'selftest');
    expect(file.endsWith('selftest.png'), `screenshot path ${file}`);
  });

  expect(csp.length >= 1, 'Chromium reported the blocked inline script as a CSP violation');
  await page.context().close();
}
