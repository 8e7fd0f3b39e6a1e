// Shared by the specs: where screenshots go, unique players, and the REST calls that set a test up.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { test, expect } = require('@playwright/test');

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

// How long a room may spend outside a running round (betting, the pause after a crash, a new round's
// start) while a test waits for it: a few betting phases and pauses.
const ROOM_IDLE_WAIT_MS = 45000;
// A running round may last any time (its length is the crash point's), so time spent in one does not
// count against the wait above; this bounds the whole wait all the same (600 s is a crash point above
// 4 x 10^15, which no chain plays).
const ROOM_WAIT_MAX_MS = 600000;
// A running round whose multiplier has not moved for this long has stalled: a fault, reported at once.
const ROUND_STALL_MS = 10000;

/**
 * Polls the room's public state until `probe(state)` returns a value. The wait's budget comes from the
 * round under way rather than from a fixed guess: while the room's round runs and its multiplier rises,
 * the wait goes on (and the test's own timeout is extended by as much), so a long round never fails a
 * test; the time spent outside a running round is bounded by ROOM_IDLE_WAIT_MS, a stalled round fails
 * at once, and a failure names the round and its multiplier.
 */
async function waitForRoom(request, room, probe, { what = 'a room condition' } = {}) {
  const started = Date.now();
  let idleMs = 0;
  let last = null;
  let lastMoved = Date.now();
  let previous = Date.now();
  for (;;) {
    const response = await request.get(`/api/v1/game/state?room=${room}`);
    const state = response.status() === 200 ? await response.json() : null;
    const value = state ? await probe(state) : undefined;
    if (value !== undefined && value !== null && value !== false) return value;
    const now = Date.now();
    const running = state !== null && state.phase === 'running';
    if (running) {
      if (last === null || last.round_id !== state.round_id || last.multiplier !== state.multiplier) lastMoved = now;
      test.info().setTimeout(test.info().timeout + (now - previous));
    } else {
      idleMs += now - previous;
    }
    last = state;
    previous = now;
    const where = last ? `round ${last.round_id} of ${room} was ${last.phase} at ${last.multiplier}x` : `${room} had no state`;
    if (running && now - lastMoved > ROUND_STALL_MS) throw new Error(`${what}: ${where} and stopped moving for ${ROUND_STALL_MS} ms`);
    if (idleMs > ROOM_IDLE_WAIT_MS) throw new Error(`${what}: ${ROOM_IDLE_WAIT_MS} ms outside a running round; ${where}`);
    if (now - started > ROOM_WAIT_MAX_MS) throw new Error(`${what}: gave up after ${ROOM_WAIT_MAX_MS} ms; ${where}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Waits (see waitForRoom) for a betting phase of `room` with at least `marginMs` left; returns the state. */
function waitForBettingPhase(request, room, { marginMs = 300, what = `a betting phase of ${room}` } = {}) {
  return waitForRoom(request, room, (state) => state.phase === 'betting' && (state.betting_ends_in_ms ?? 0) >= marginMs && state, { what });
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
  adminToken, waitFor, waitForRoom, waitForBettingPhase,
};
