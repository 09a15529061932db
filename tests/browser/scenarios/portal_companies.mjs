// A vendor admin's companies in Chromium: the list, a new company, its hand-over to a first
// super administrator (a one-time password shown once). axe-core on each page; screenshots.
//
// Fixture (crates/e2e/tests/e2e/portal_browser.rs): {url, user: {name, password}}.

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  const expect = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };

  await step('sign in and open the companies', async () => {
    await page.goto(url('/signin'));
    await page.getByLabel('User name').fill(fixture.user.name);
    await page.getByLabel('Password').fill(fixture.user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(url('/'));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Companies' }).click();
    await page.waitForURL(/\/companies$/);
    await checkA11y(page, 'companies');
  });

  await step('create a company and hand it over', async () => {
    await page.getByLabel('Name', { exact: true }).fill('globex');
    await page.getByRole('button', { name: 'Create company' }).click();
    await page.getByRole('status').waitFor();
    await checkA11y(page, 'company created');
    await screenshot(page, 'companies');
    await page.getByLabel('User name').fill('gina');
    await page.getByLabel('Name shown').fill('Gina Admin');
    await page.getByRole('button', { name: 'Hand over' }).click();
    await page.getByRole('heading', { name: 'globex is handed over' }).waitFor();
    const pw = (await page.locator('#handover-password').textContent()).trim();
    expect(pw.length >= 16, `no one-time password shown: ${pw}`);
    await checkA11y(page, 'handed over');
    await screenshot(page, 'company-handed-over');
  });
}
