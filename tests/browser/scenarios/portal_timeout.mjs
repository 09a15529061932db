// Session timeouts in Chromium: a session idle too long and one past its absolute end (both
// aged by the Rust side in the hub's database) are sent to sign in, which says why; signing in
// again works. axe-core on the sign-in page with the notice; screenshot signin-ended.
//
// Fixture (crates/e2e/tests/e2e/portal_timeout_browser.rs): {url, idle_cookie, old_cookie,
// user: {name, password}}.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  const expect = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };
  const useSession = async (value) => {
    await page.context().clearCookies();
    await page.context().addCookies([
      { name: '__Host-portcullis', value, url: fixture.url, secure: true, httpOnly: true, sameSite: 'Strict' },
    ]);
  };

  await step('an idle session is sent to sign in, with the reason', async () => {
    await useSession(fixture.idle_cookie);
    await page.goto(url('/systems'));
    await page.waitForURL(/\/signin\?ended=idle$/);
    const text = await page.getByRole('status').textContent();
    expect(text.includes('30 minutes without activity'), `notice: ${text}`);
    await checkA11y(page, 'sign-in after an idle session');
    await screenshot(page, 'signin-ended');
  });

  await step('signing in again goes on', async () => {
    await page.getByLabel('User name').fill(fixture.user.name);
    await page.getByLabel('Password').fill(fixture.user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(url('/'));
    await page.goto(url('/systems'));
    expect(new URL(page.url()).pathname === '/systems', `sent to ${page.url()}`);
  });

  await step('a session past its end is sent to sign in, with the reason', async () => {
    await useSession(fixture.old_cookie);
    await page.goto(url('/'));
    await page.waitForURL(/\/signin\?ended=expired$/);
    const text = await page.getByRole('status').textContent();
    expect(text.includes('12 hours after you signed in'), `notice: ${text}`);
    await checkA11y(page, 'sign-in after an expired session');
  });
}
