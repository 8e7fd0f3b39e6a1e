// The crash curve the pages draw themselves (static/curve.js): the same numbers as the server to the
// millisecond, a curve that moves at display rate between ticks and agrees with each tick (on the player
// page and on the dashboard), and a curve that freezes and says so when ticks stop, then takes the
// truth from the next one.
const fs = require('node:fs');
const path = require('node:path');
const { test, expect } = require('@playwright/test');
const { createPlayer, snap, waitForRoom, watchProblems } = require('./helpers');

const ROOM = 'aviator';
const ROUNDS_MAX = 6;
/** Tick intervals the test watches in one round (fewer when the round crashes first). */
const INTERVALS_WANTED = 6;
const STALL_FLOOR_MS = 300;
/** A tick interval this long or longer must show the number itself change between ticks. */
const LONG_INTERVAL_MS = 500;
/** The server's curve, written by src/fair/crash.rs's test crash_curve_fixture_matches_the_server. */
const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'crash_curve.json'), 'utf8'));

/** Hundredths of a displayed "2.08". */
const hundredths = (text) => Math.round(Number(text) * 100);

/** Opens the crash view of ROOM as a new player (signed up over REST; the page reads the session). */
async function openRoom(page, request) {
  // Funded: the lobby launches a game only for a balance that covers its minimum bet.
  const { username, token } = await createPlayer(request);
  await page.addInitScript(([savedToken, savedName]) => {
    sessionStorage.setItem('gc.player.token', savedToken);
    sessionStorage.setItem('gc.player.username', savedName);
  }, [token, username]);
  await page.goto(`/#/play/${ROOM}`);
  await expect(page.getByTestId('crash-panel')).toBeVisible();
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
}

async function tickIntervalMs(request) {
  const response = await request.get(`/api/v1/game/state?room=${ROOM}`);
  expect(response.status()).toBe(200);
  return Number((await response.json()).tick_interval_ms);
}

const PLAYER_PAGE = { curve: '[data-testid="curve"]', number: '[data-testid="multiplier"]' };
const DASHBOARD = {
  curve: `[data-testid="room-curve"][data-room="${ROOM}"]`, number: `[data-testid="room-multiplier"][data-room="${ROOM}"]`,
};

/** Waits for a running round whose curve (`selector`) has had a tick on this page; returns its id. */
async function waitForRunningCurve(page, request, selector = PLAYER_PAGE.curve) {
  const curve = page.locator(selector);
  return waitForRoom(request, ROOM, async (state) => {
    if (state.phase !== 'running') return undefined;
    const ticked = Number(await curve.getAttribute('data-ticks')) > 0;
    const round = await curve.getAttribute('data-round');
    const crashed = await curve.getAttribute('data-crashed');
    return ticked && round === String(state.round_id) && crashed === 'false' ? round : undefined;
  }, { what: `a running round of ${ROOM} on the page` });
}

/** Records every change of the curve's data attributes (one entry per frame or tick) into window.__curveLog. */
async function recordCurve(page, selectors) {
  await page.evaluate(({ curveSelector, numberSelector }) => {
    const curve = document.querySelector(curveSelector);
    const shown = document.querySelector(numberSelector);
    window.__curveLog = [];
    window.__curveObserver?.disconnect();
    window.__curveObserver = new MutationObserver(() => {
      const data = curve.dataset;
      window.__curveLog.push({
        at: performance.now(), round: data.round, ticks: Number(data.ticks), tickElapsedMs: Number(data.tickElapsedMs),
        tickMultiplier: data.tickMultiplier, elapsedMs: Number(data.elapsedMs), multiplier: data.multiplier,
        crashed: data.crashed, stalled: data.stalled, text: shown.textContent,
      });
    });
    window.__curveObserver.observe(curve, { attributes: true });
  }, { curveSelector: selectors.curve, numberSelector: selectors.number });
}

/**
 * Watches running rounds until INTERVALS_WANTED whole tick intervals are recorded: each is the tick's
 * own entry and the frames drawn until the next tick. Checks on the way that nothing shown goes back.
 */
async function recordIntervals(page, request, selectors, intervalMs) {
  let intervals = [];
  for (let round = 1; round <= ROUNDS_MAX && intervals.length < INTERVALS_WANTED; round += 1) {
    const roundId = await waitForRunningCurve(page, request, selectors.curve);
    await recordCurve(page, selectors);
    await page.waitForTimeout(intervalMs * (INTERVALS_WANTED + 2));
    const log = (await page.evaluate(() => window.__curveLog)).filter((entry) => entry.round === roundId && entry.crashed === 'false');
    for (let index = 1; index < log.length; index += 1) {
      expect(log[index].elapsedMs, 'the elapsed time shown never goes back').toBeGreaterThanOrEqual(log[index - 1].elapsedMs);
      expect(hundredths(log[index].multiplier)).toBeGreaterThanOrEqual(hundredths(log[index - 1].multiplier));
    }
    intervals = [];
    for (let index = 1; index < log.length; index += 1) {
      const tick = log[index];
      if (tick.ticks === log[index - 1].ticks) continue;
      let next = index + 1;
      while (next < log.length && log[next].ticks === tick.ticks) next += 1;
      const frames = log.slice(index + 1, next);
      if (frames.length > 0 && next < log.length) intervals.push({ tick, frames });
    }
  }
  expect(intervals.length, `whole tick intervals seen in ${ROUNDS_MAX} rounds`).toBeGreaterThanOrEqual(INTERVALS_WANTED);
  return intervals;
}

/** Per interval: how many elapsed times were drawn, and whether the tick and every frame are the formula. */
function checkIntervals(page, intervals) {
  return page.evaluate(async (seen) => {
    const { multiplierAt } = await import('/assets/curve.js');
    const hundredthsOf = (text) => Math.round(Number(text) * 100);
    return seen.map(({ tick, frames }) => ({
      distinct: new Set(frames.map((frame) => frame.elapsedMs)).size,
      distinctNumbers: new Set(frames.map((frame) => frame.multiplier)).size,
      tickIsFormula: multiplierAt(tick.tickElapsedMs) === hundredthsOf(tick.tickMultiplier),
      framesAreFormula: frames.every((frame) => multiplierAt(frame.elapsedMs) === hundredthsOf(frame.multiplier)
        && frame.text === `${frame.multiplier}x`),
      atTickAhead: frames[0].elapsedMs - tick.tickElapsedMs,
      atTickEqual: hundredthsOf(frames[0].multiplier) === hundredthsOf(tick.tickMultiplier),
    }));
  }, intervals);
}

test('the page computes the server\'s curve, to the millisecond', async ({ page, request }) => {
  const problems = watchProblems(page);
  await openRoom(page, request);
  const mismatches = await page.evaluate(async (fixture) => {
    const { multiplierAt, formatHundredths } = await import('/assets/curve.js');
    const found = [];
    fixture.multipliers.forEach((expected, index) => {
      const elapsed = index * fixture.step_ms;
      if (multiplierAt(elapsed) !== expected) found.push({ elapsed, expected, page: multiplierAt(elapsed) });
    });
    // The first millisecond of every hundredth: together with the samples, every millisecond up to 60 s.
    fixture.first_ms.forEach((elapsed, index) => {
      const expected = fixture.first_ms_from_multiplier + index;
      if (multiplierAt(elapsed) < expected || multiplierAt(elapsed - 1) >= expected) found.push({ elapsed, expected, first: true });
    });
    for (const [elapsed, expected] of fixture.far) {
      if (multiplierAt(elapsed) !== expected) found.push({ elapsed, expected, page: multiplierAt(elapsed) });
    }
    if (formatHundredths(208) !== '2.08x' || formatHundredths(100) !== '1.00x' || formatHundredths(100000000) !== '1000000.00x') {
      found.push({ format: true });
    }
    return found;
  }, FIXTURE);
  expect(mismatches, 'values where the page and the server differ').toEqual([]);
  expect(problems).toEqual([]);
});

test('between ticks the curve moves at display rate, and at each tick it shows the server\'s value', async ({ page, request }) => {
  const problems = watchProblems(page);
  await openRoom(page, request);
  const intervalMs = await tickIntervalMs(request);
  const stallMs = Math.max(STALL_FLOOR_MS, 2 * intervalMs);
  const intervals = await recordIntervals(page, request, PLAYER_PAGE, intervalMs);
  const checks = await checkIntervals(page, intervals);
  test.info().annotations.push({ type: 'curve', description: JSON.stringify({ intervalMs, checks }) });
  for (const check of checks) {
    expect(check.tickIsFormula, 'the tick\'s multiplier is the formula at its elapsed time').toBe(true);
    expect(check.framesAreFormula, 'every frame shows the formula at its elapsed time').toBe(true);
    expect(check.atTickAhead, 'at a tick the page is at or just past the tick\'s elapsed time').toBeGreaterThanOrEqual(0);
    expect(check.atTickAhead, 'and never a stall\'s time ahead of it').toBeLessThan(stallMs);
  }
  const moving = checks.filter((check) => check.distinct >= 3).length;
  expect(moving, 'intervals in which the curve showed at least 3 different elapsed times').toBeGreaterThanOrEqual(Math.ceil(checks.length / 2));
  if (intervalMs >= LONG_INTERVAL_MS) {
    // With long intervals the number itself moves between ticks (a hundredth takes at most 166 ms).
    const counting = checks.filter((check) => check.distinctNumbers >= 3).length;
    expect(counting, 'intervals in which the number took at least 3 values').toBeGreaterThanOrEqual(Math.ceil(checks.length / 2));
  }
  const equal = checks.filter((check) => check.atTickEqual).length;
  expect(equal, 'ticks at which the page showed the tick\'s own multiplier').toBeGreaterThanOrEqual(Math.ceil(checks.length / 2));
  await snap(page, 'curve-01-running');
  expect(problems).toEqual([]);
});

test('the dashboard draws a room\'s curve the same way', async ({ page, request }) => {
  const username = process.env.ADMIN_USERNAME;
  const password = process.env.ADMIN_PASSWORD;
  if (!username || !password) throw new Error('set ADMIN_USERNAME and ADMIN_PASSWORD (scripts/browser-test.sh reads them from the cluster)');
  const problems = watchProblems(page);
  await page.goto('/admin');
  await page.getByTestId('admin-username').fill(username);
  await page.getByTestId('admin-password').fill(password);
  await page.getByTestId('admin-login-button').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  const intervalMs = await tickIntervalMs(request);
  const checks = await checkIntervals(page, await recordIntervals(page, request, DASHBOARD, intervalMs));
  for (const check of checks) {
    expect(check.tickIsFormula && check.framesAreFormula, 'ticks and frames are the formula').toBe(true);
    expect(check.atTickAhead).toBeGreaterThanOrEqual(0);
  }
  const moving = checks.filter((check) => check.distinct >= 3).length;
  expect(moving, 'intervals in which the curve showed at least 3 different elapsed times').toBeGreaterThanOrEqual(Math.ceil(checks.length / 2));
  expect(problems).toEqual([]);
});

test('when ticks stop the curve freezes and shows it, and the next tick puts it right', async ({ page, request }) => {
  const problems = watchProblems(page);
  let dropTicks = false;
  // Between the page and the server: every frame passes, except ticks while dropTicks is set.
  await page.routeWebSocket(/\/ws/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((message) => server.send(message));
    server.onMessage((message) => {
      if (dropTicks && typeof message === 'string' && message.includes('"type":"tick"')) return;
      socket.send(message);
    });
  });
  await openRoom(page, request);
  const intervalMs = await tickIntervalMs(request);
  const stallMs = Math.max(STALL_FLOOR_MS, 2 * intervalMs);
  const curve = page.getByTestId('curve');
  const shown = page.getByTestId('multiplier');
  const stillRunning = async (roundId) => (await curve.getAttribute('data-crashed')) === 'false'
    && (await curve.getAttribute('data-round')) === roundId;
  /** True once the page shows the curve stalled, false when the round ends first. */
  const stalledBeforeTheEnd = async (roundId) => {
    const deadline = Date.now() + stallMs + 2000;
    while (Date.now() < deadline) {
      if (!(await stillRunning(roundId))) return false;
      if ((await curve.getAttribute('data-stalled')) === 'true') return true;
      await page.waitForTimeout(25);
    }
    throw new Error(`the curve did not stall within ${stallMs + 2000} ms without ticks`);
  };

  let proven = false;
  for (let round = 1; round <= ROUNDS_MAX && !proven; round += 1) {
    const roundId = await waitForRunningCurve(page, request);
    dropTicks = true;
    if (!(await stalledBeforeTheEnd(roundId))) {
      dropTicks = false;
      continue;
    }
    const frozenMs = Number(await curve.getAttribute('data-elapsed-ms'));
    const lastTickMs = Number(await curve.getAttribute('data-tick-elapsed-ms'));
    await expect(shown).toHaveAttribute('data-stalled', 'true');
    await expect(page.getByTestId('phase')).toContainText('waiting');
    await snap(page, 'curve-02-stalled');
    await page.waitForTimeout(400);
    if (!(await stillRunning(roundId))) {
      dropTicks = false;
      continue;
    }
    expect(Number(await curve.getAttribute('data-elapsed-ms')), 'a stalled curve stays where it froze').toBe(frozenMs);
    // It froze about one stall after the last tick it heard (plus that tick's delay), never much further.
    expect(frozenMs).toBeLessThanOrEqual(lastTickMs + stallMs + intervalMs);

    dropTicks = false;
    await expect.poll(async () => curve.getAttribute('data-stalled'), { timeout: stallMs + 3000 }).toBe('false');
    if (!(await stillRunning(roundId))) continue;
    const resumedTickMs = Number(await curve.getAttribute('data-tick-elapsed-ms'));
    expect(resumedTickMs, 'the next tick is the server\'s truth, past the frozen point').toBeGreaterThan(frozenMs);
    await expect.poll(async () => Number(await curve.getAttribute('data-elapsed-ms'))).toBeGreaterThanOrEqual(resumedTickMs);
    await expect(shown).toHaveAttribute('data-stalled', 'false');
    proven = true;
  }
  expect(proven, `a round ran long enough to stall and resume (${ROUNDS_MAX} tried)`).toBe(true);
  expect(problems).toEqual([]);
});
