// The portal's systems list in Chromium: sign in, type the filter syntax into the search box
// and group by type (keyboard only), mark a favourite from the list, see it under
// favourite:yes. With JavaScript the list filters in place (htmx), a refused filter too.
// axe-core on the filtered, grouped list; screenshot systems-filtered for
// docs/portal.md.
//
// Fixture (crates/e2e/tests/e2e/portal_list_browser.rs): {url, user: {name, password}}; acme
// has PRD (window open), QAS (window reserved) and DEV (inactive, Java).

export default async function run({ browser, fixture, lib }) {
  const { step, checkA11y, screenshot, newPage } = lib;
  const url = (p) => `${fixture.url}${p}`;
  const page = await newPage(browser);
  const expect = (cond, msg) => {
    if (!cond) throw new Error(msg);
  };
  const sids = async () => page.locator('tbody tr td:nth-child(2)').allTextContents();

  await step('sign in', async () => {
    await page.goto(url('/signin'));
    await page.getByLabel('User name').fill(fixture.user.name);
    await page.getByLabel('Password').fill(fixture.user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(url('/'));
  });

  await step('filter with NOT and group by type, by keyboard', async () => {
    await page.goto(url('/systems'));
    await checkA11y(page, 'systems');
    await page.evaluate(() => { window.__stillThisPage = true; });
    await page.getByLabel('Search').fill('NOT status:inactive');
    await page.getByLabel('Group by').selectOption('type');
    await page.getByLabel('Search').press('Enter');
    // htmx writes a space as %20, the server's own links as +.
    await page.waitForURL(/\/systems\?q=NOT(\+|%20)status%3Ainactive/);
    const shown = (await sids()).map((s) => s.trim());
    expect(JSON.stringify(shown) === '["PRD","QAS"]', `shown: ${shown}`);
    await page.getByRole('heading', { name: 'Type: abap' }).waitFor();
    expect(await page.evaluate(() => window.__stillThisPage === true), 'the filter reloaded the whole page');
  });

  await step('mark PRD as a favourite from the list', async () => {
    await page.getByRole('button', { name: 'Mark PRD as favourite' }).click();
    await page.getByRole('button', { name: 'Unmark PRD as favourite' }).waitFor();
    expect(/q=NOT\+status%3Ainactive/.test(page.url()), `the query is lost: ${page.url()}`);
    await checkA11y(page, 'systems filtered and grouped');
    await screenshot(page, 'systems-filtered');
  });

  await step('favourite:yes shows only it; a mistake is said in place', async () => {
    await page.evaluate(() => { window.__stillThisPage = true; });
    await page.getByLabel('Search').fill('favourite:yes');
    await page.getByLabel('Search').press('Enter');
    await page.waitForURL(/q=favourite%3Ayes/);
    const shown = (await sids()).map((s) => s.trim());
    expect(JSON.stringify(shown) === '["PRD"]', `favourites: ${shown}`);
    await page.getByLabel('Search').fill('colour:red');
    await page.getByLabel('Search').press('Enter');
    await page.getByRole('alert').waitFor();
    const text = await page.getByRole('alert').textContent();
    expect(text.includes('unknown field'), `alert: ${text}`);
    expect(await page.evaluate(() => window.__stillThisPage === true), 'the refused filter reloaded the whole page');
    await checkA11y(page, 'systems refused filter');
  });
}
