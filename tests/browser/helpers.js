// Shared by the specs: where screenshots go, unique players, and the REST calls that set a test up.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { expect } = require('@playwright/test');

const artifactsDir = path.resolve(process.env.ARTIFACTS_DIR || path.join(__dirname, 'artifacts'));
fs.mkdirSync(artifactsDir, { recursive: true });

const PASSWORD = 'pw-secret-123';
const MICROS_PER_UNIT = 1000000n;

/** A full-page screenshot named after the step, in ARTIFACTS_DIR. */
async function snap(page, name) {
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true });
}

/** A username no other run uses: 3–32 characters of letters, digits, '_', '.' or '-'. */
function uniqueUsername() {
  return `pw_${Date.now().toString(36)}_${crypto.randomBytes(4).toString('hex')}`;
}

function randomKey(prefix) {
  return `${prefix}${crypto.randomBytes(12).toString('hex')}`;
}

/** Parses an API answer, failing the test with the status and body when it is not the expected one. */
async function expectStatus(response, status, what) {
  const text = await response.text();
  expect(response.status(), `${what}: ${text}`).toBe(status);
  return text ? JSON.parse(text) : null;
}

/** Signs a new player up over REST and tops them up; returns {username, token}. */
async function createPlayer(request, { topUpMicros = 100n * MICROS_PER_UNIT } = {}) {
  const username = uniqueUsername();
  const signup = await request.post('/api/v1/auth/signup', { data: { username, password: PASSWORD } });
  const { token } = await expectStatus(signup, 201, 'sign-up');
  if (topUpMicros > 0n) {
    const topUp = await request.post('/api/v1/wallet/top-up', {
      data: { amount: Number(topUpMicros) },
      headers: { Authorization: `Bearer ${token}`, 'Idempotency-Key': randomKey('pw-topup-') },
    });
    await expectStatus(topUp, 200, 'top-up');
  }
  return { username, token };
}

async function adminToken(request) {
  const username = process.env.ADMIN_USERNAME;
  const password = process.env.ADMIN_PASSWORD;
  if (!username || !password) throw new Error('ADMIN_USERNAME and ADMIN_PASSWORD must be set');
  const login = await request.post('/api/v1/admin/login', { data: { username, password } });
  return (await expectStatus(login, 200, 'admin log-in')).token;
}

/** Polls `probe` (an async function returning a value or undefined) every 250 ms until it returns one. */
async function waitFor(probe, { timeoutMs = 20000, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/**
 * Collects what must never happen on a page: uncaught script errors and anything the content security
 * policy blocked (inline styles or scripts, other hosts). The test asserts the list is empty at its end.
 */
function watchProblems(page) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
  page.on('console', (entry) => {
    if (/Content Security Policy|Refused to/i.test(entry.text())) problems.push(`blocked: ${entry.text()}`);
  });
  return problems;
}

module.exports = {
  watchProblems,
  artifactsDir, PASSWORD, MICROS_PER_UNIT, snap, uniqueUsername, randomKey, expectStatus, createPlayer,
  adminToken, waitFor,
};
