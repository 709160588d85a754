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
    this.pages = [];
    this.requests = [];
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
    // The page's own API traffic, kept for the failure report (last 40 of the current test).
    const t0 = Date.now();
    const log = (line) => {
      this.requests.push(`+${((Date.now() - t0) / 1000).toFixed(3)}s ${line}`);
      if (this.requests.length > 40) this.requests.shift();
    };
    const short = (u) => decodeURIComponent(u.replace(/^https?:\/\/[^/]+/, '')).slice(0, 220);
    page.on('request', (r) => r.resourceType() === 'fetch' && log(`→ ${r.method()} ${short(r.url())}`));
    page.on('response', (r) => r.request().resourceType() === 'fetch' && log(`← ${r.status()} ${short(r.url())}`));
    page.on('requestfailed', (r) => r.resourceType() === 'fetch' && log(`✗ ${r.failure()?.errorText} ${short(r.url())}`));
    this.pages.push(page);
  }

  /** What a failed test leaves behind: a screenshot, the URL and the page's recent requests. */
  async failureReport(name) {
    const lines = [];
    for (const [i, page] of this.pages.entries()) {
      try {
        const file = await this.screenshot(page, `FAIL-${name.slice(0, 40)}-${i}`);
        lines.push(`page ${i}: ${page.url()} (screenshot ${file})`);
      } catch (e) {
        lines.push(`page ${i}: no screenshot (${e.message})`);
      }
    }
    lines.push('recent requests:', ...this.requests);
    return lines.join('\n     ');
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
      this.requests = [];
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
        console.log(`     ${await this.failureReport(t.name)}`);
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
