// The browser tests' library: what every scenario in ./scenarios uses.
//
// Headless Debian Chromium (/usr/bin/chromium) driven by playwright-core, axe-core for
// accessibility, full-page screenshots. Scenarios are started by run.mjs, which the Rust
// side (crates/test-support/src/browser.rs) spawns with the fixture in PORTCULLIS_FIXTURE.
// See README.md beside this file.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The browser: Debian's package, never one Playwright downloads. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * The project's Chromium flags (plus headless). They keep the browser from talking to
 * anything but the pages a test opens on loopback: no QUIC, no first-run, no background
 * networking, no component updates, no sync.
 */
export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/** How long one action (click, fill, navigation, wait) may take before it fails. */
export const ACTION_TIMEOUT_MS = 10_000;

/**
 * Launches headless Chromium with the project's flags. Playwright's launch() gives every
 * run a fresh user-data-dir of its own (a temp dir it removes when the browser closes).
 */
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    // Chromium's own output is of no use unless something goes wrong, and then
    // Playwright's error carries the launch log.
    timeout: 30_000,
  });
}

/**
 * A page in a new context: 1280x800, HTTPS errors ignored (the test hub's certificate comes
 * from a private test CA), a default timeout of ACTION_TIMEOUT_MS for every action and
 * navigation. Extra context options (e.g. `locale`) are passed through.
 */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
    ...options,
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  const page = await context.newPage();
  return page;
}

let axeSource;
function axeSourceText() {
  if (axeSource === undefined) {
    axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  }
  return axeSource;
}

/** The impacts that fail checkA11y. */
export const FAILING_IMPACTS = Object.freeze(['serious', 'critical']);

/**
 * Injects axe-core into the page's main frame, unless it is there already.
 *
 * The portal's Content-Security-Policy has neither 'unsafe-inline' nor 'unsafe-eval', so
 * `page.addScriptTag({content})` (an inline <script>) is refused by the page ("Executing
 * inline script violates ... script-src 'self'"). `page.evaluate(source)` is not: Playwright
 * evaluates over the DevTools protocol, and Chromium does not hold DevTools evaluation to the
 * page's CSP. So the page keeps its real policy (no `bypassCSP` anywhere) and the check sees
 * it exactly as a user's browser does; the selftest scenario proves both halves.
 */
async function injectAxe(page) {
  const present = await page.evaluate(() => typeof window.axe?.run === 'function');
  if (present) return;
  // `void 0` so that the script's completion value (axe's exports) is not sent back.
  await page.evaluate(`${axeSourceText()}\n;void 0;`);
  const ok = await page.evaluate(() => typeof window.axe?.run === 'function');
  if (!ok) throw new Error('axe-core was evaluated but window.axe.run is missing');
}

/**
 * Runs axe-core on the page and throws when any violation has impact serious or critical.
 * The error lists each such violation: rule id, impact, help text, help URL and the target
 * selectors of its nodes. Returns axe's full result otherwise (minor and moderate findings
 * are logged, not failed).
 *
 * `options.axe` is passed to axe.run (e.g. `{ rules: { 'color-contrast': { enabled: false } } }`);
 * `options.context` to its first argument (default: the whole document).
 */
export async function checkA11y(page, label, options = {}) {
  await injectAxe(page);
  const results = await page.evaluate(
    async ({ context, axeOptions }) => {
      // eslint-disable-next-line no-undef
      const r = await window.axe.run(context ?? document, axeOptions ?? {});
      return {
        url: r.url,
        violations: r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          helpUrl: v.helpUrl,
          nodes: v.nodes.map((n) => ({
            target: n.target,
            impact: n.impact,
            summary: n.failureSummary,
          })),
        })),
        passes: r.passes.length,
        incomplete: r.incomplete.length,
      };
    },
    { context: options.context ?? null, axeOptions: options.axe ?? null },
  );
  const failing = results.violations.filter((v) => FAILING_IMPACTS.includes(v.impact));
  const minor = results.violations.filter((v) => !FAILING_IMPACTS.includes(v.impact));
  for (const v of minor) {
    console.log(`a11y(${label}): ${v.impact} ${v.id}: ${v.help} [${v.nodes.map((n) => n.target.join(' ')).join(', ')}]`);
  }
  if (failing.length > 0) {
    const lines = failing.map((v) => {
      const targets = v.nodes.map((n) => `    - ${n.target.join(' ')}`).join('\n');
      return `  ${v.id} (${v.impact}): ${v.help}\n    ${v.helpUrl}\n${targets}`;
    });
    const err = new Error(
      `accessibility check "${label}" failed on ${results.url}: ${failing.length} serious/critical violation(s)\n${lines.join('\n')}`,
    );
    err.violations = failing;
    throw err;
  }
  console.log(`a11y(${label}): ok (${results.passes} rules passed, ${minor.length} minor/moderate, ${results.incomplete} need review)`);
  return results;
}

/**
 * A full-page PNG named `<name>.png`, in $PORTCULLIS_SCREENSHOTS when set (the docs dir,
 * e.g. docs/portal), otherwise in a temp dir. Returns the file's path.
 */
export async function screenshot(page, name) {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new Error(`screenshot name ${JSON.stringify(name)}: use letters, digits, '.', '_', '-'`);
  }
  let dir = process.env.PORTCULLIS_SCREENSHOTS;
  if (dir) {
    mkdirSync(dir, { recursive: true });
  } else {
    dir = screenshotTempDir ??= mkdtempSync(path.join(tmpdir(), 'portcullis-screens-'));
  }
  const file = path.resolve(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  console.log(`screenshot: ${file}`);
  return file;
}
let screenshotTempDir;

/** The fixture the Rust side passes as JSON in PORTCULLIS_FIXTURE (e.g. `{"url": ...}`). */
export function fixture() {
  const raw = process.env.PORTCULLIS_FIXTURE;
  if (!raw) throw new Error('PORTCULLIS_FIXTURE is not set (the Rust side passes the fixture as JSON)');
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new Error(`PORTCULLIS_FIXTURE is not JSON: ${e.message}`);
  }
}

/**
 * Runs one named step of a scenario: logs `step: <name>`, and rethrows any error with the
 * step's name in front, so a failing test says which step failed.
 */
export async function step(name, fn) {
  console.log(`step: ${name}`);
  try {
    return await fn();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const original = err.message;
    // V8 formats the stack lazily from the message: read it before the message changes.
    const stack = err.stack;
    err.message = `step "${name}": ${original}`;
    if (typeof stack === 'string') err.stack = stack.replace(original, err.message);
    throw err;
  }
}

/** Throws `msg` unless `cond` holds. */
export function expect(cond, msg) {
  if (!cond) throw new Error(`expectation failed: ${msg}`);
}
