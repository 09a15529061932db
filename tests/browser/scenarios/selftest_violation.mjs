// Proves checkA11y can fail: /bad has an image link with no accessible name and an input
// with no label, which axe rates serious/critical. The scenario passes only when checkA11y
// throws and names those rules.
export default async function selftestViolation({ browser, fixture, lib }) {
  const { step, expect } = lib;
  const page = await lib.newPage(browser);

  await step('open /bad', async () => {
    const res = await page.goto(`${fixture.url}/bad`);
    expect(res && res.ok(), `GET /bad answered ${res && res.status()}`);
  });

  await step('checkA11y throws with the rule ids', async () => {
    let error;
    try {
      await lib.checkA11y(page, 'selftest /bad');
    } catch (e) {
      error = e;
    }
    expect(error, 'checkA11y passed a page with serious/critical violations');
    console.log(`checkA11y threw as it should:\n${error.message}`);
    const ids = (error.violations ?? []).map((v) => v.id);
    for (const rule of ['link-name', 'image-alt', 'label']) {
      expect(ids.includes(rule), `violation ${rule} reported (got ${ids.join(', ')})`);
      expect(error.message.includes(rule), `the error message names ${rule}`);
    }
    expect(/a\[href="\/nowhere"\]|#lonely/.test(error.message), 'the error message names the target selectors');
  });

  await page.context().close();
}
