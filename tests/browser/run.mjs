// Runs one scenario: `node tests/browser/run.mjs <scenario>` imports
// ./scenarios/<scenario>.mjs and calls its default export with {browser, fixture, lib}.
// Exits 0 when it resolves, 1 with the error on stderr when it throws, and 1 when the whole
// run takes longer than RUN_TIMEOUT_MS. The browser is closed in every case.

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import * as lib from './lib.mjs';

const RUN_TIMEOUT_MS = 120_000;
const here = path.dirname(fileURLToPath(import.meta.url));

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}

const scenario = process.argv[2];
if (!scenario || !/^[A-Za-z0-9_-]+$/.test(scenario)) {
  fail('usage: node tests/browser/run.mjs <scenario>   (a file tests/browser/scenarios/<scenario>.mjs)');
  process.exit(2);
}
const file = path.join(here, 'scenarios', `${scenario}.mjs`);
if (!existsSync(file)) {
  fail(`no scenario ${scenario}: ${file} does not exist`);
  process.exit(2);
}

let browser;
const started = Date.now();

// Ends the run from outside the scenario: the whole-run timeout, or SIGTERM (what the Rust
// side sends at its own deadline). Playwright kills the browser's process group when this
// process exits; close() gets a moment to do it cleanly first.
async function abort(reason) {
  fail(`scenario ${scenario}: ${reason}`);
  const closing = browser ? browser.close().catch(() => {}) : Promise.resolve();
  await Promise.race([closing, new Promise((r) => setTimeout(r, 3_000))]);
  process.exit(1);
}
const timer = setTimeout(() => abort(`whole run timed out after ${RUN_TIMEOUT_MS / 1000} s`), RUN_TIMEOUT_MS);
process.once('SIGTERM', () => abort(`terminated (SIGTERM) after ${((Date.now() - started) / 1000).toFixed(1)} s`));

try {
  const { default: run } = await import(pathToFileURL(file).href);
  if (typeof run !== 'function') throw new Error(`${file} has no default export function`);
  const fixture = lib.fixture();
  browser = await lib.launch();
  console.log(`scenario ${scenario}: ${browser.version()} (playwright-core, ${lib.CHROMIUM})`);
  await run({ browser, fixture, lib });
  console.log(`scenario ${scenario}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (e) {
  fail(`scenario ${scenario} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
} finally {
  if (browser) await browser.close().catch((e) => fail(`closing the browser: ${e}`));
  clearTimeout(timer);
}
