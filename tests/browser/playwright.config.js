// Playwright settings for the browser tests of the player page and the admin dashboard. They run
// against a cluster that is already up (scripts/browser-test.sh starts nothing): BASE_URL (default the
// local cluster's nginx), with Debian's Chromium rather than a browser downloaded by Playwright.
const path = require('node:path');
const { defineConfig } = require('@playwright/test');

const artifactsDir = path.resolve(process.env.ARTIFACTS_DIR || path.join(__dirname, 'artifacts'));

module.exports = defineConfig({
  testDir: __dirname,
  testMatch: '*.spec.js',
  // One test at a time: the admin specs pause rooms that the player spec plays in.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // A player test may need several rounds (betting 4–5 s, then a running phase of any length).
  timeout: 180000,
  expect: { timeout: 15000 },
  reporter: 'list',
  outputDir: path.join(artifactsDir, 'test-results'),
  use: {
    baseURL: process.env.BASE_URL || 'http://127.0.0.1:8080',
    headless: true,
    viewport: { width: 1400, height: 1000 },
    actionTimeout: 15000,
    navigationTimeout: 20000,
    screenshot: 'only-on-failure',
    trace: 'off',
    // Debian's Chromium. Playwright already runs it without the sandbox (needed as root) and without
    // background networking; QUIC and the GPU are off too, since this machine has neither use for them.
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--disable-gpu', '--disable-quic'],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
