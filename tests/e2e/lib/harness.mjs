// A small test runner: named tests with a time limit each, console-error tracking,
// screenshots, and the final `N passed, N failed` line.

import fs from 'node:fs';
import path from 'node:path';

export class Harness {
  constructor(artifacts) {
    this.artifacts = artifacts;
    this.tests = [];
    this.passed = 0;
    this.failed = 0;
    this.consoleErrors = [];
    this.allowed = [];
    fs.mkdirSync(artifacts, { recursive: true });
  }

  test(name, fn, timeoutMs = 90_000) {
    this.tests.push({ name, fn, timeoutMs });
  }

  /** Watches a page for console errors and uncaught exceptions. */
  watch(page) {
    page.on('console', (m) => {
      if (m.type() === 'error') this.consoleErrors.push(`${m.text()} (${m.location()?.url ?? ''})`);
    });
    page.on('pageerror', (e) => this.consoleErrors.push(`uncaught: ${e.message}`));
  }

  /** Console errors matching `re` are expected during the current test (e.g. a 400 on purpose). */
  allow(re) {
    this.allowed.push(re);
  }

  async screenshot(page, name) {
    const file = path.join(this.artifacts, name.replace(/[^\w.-]+/g, '_') + '.png');
    // From the top, so the sticky navigation bar is not captured mid-page.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  async run() {
    for (const t of this.tests) {
      this.consoleErrors = [];
      this.allowed = [];
      const t0 = Date.now();
      let timer;
      try {
        await Promise.race([
          t.fn(),
          new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${t.timeoutMs} ms`)), t.timeoutMs))),
        ]);
        const unexpected = this.consoleErrors.filter((e) => !this.allowed.some((re) => re.test(e)));
        if (unexpected.length) throw new Error('console errors:\n  ' + unexpected.join('\n  '));
        this.passed++;
        console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
      } catch (e) {
        this.failed++;
        console.log(`FAIL ${t.name} (${Date.now() - t0} ms)\n     ${String(e?.stack ?? e).split('\n').slice(0, 14).join('\n     ')}`);
      } finally {
        clearTimeout(timer);
      }
    }
    console.log(`${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0;
  }
}

export function assert(cond, msg) {
  if (!cond) throw new Error('assertion failed: ' + msg);
}
