// The slot view of the player page end to end: a spin moves the balance by exactly the round's result, a
// bought bonus plays every free spin to its summary, a past round is recalled with all its steps, and a
// round is verified (the seeds rotated first). Every wait is for a state the page or the API shows.
const { test, expect } = require('@playwright/test');
const { MICROS_PER_UNIT, createPlayer, expectStatus, randomKey, snap, watchProblems } = require('./helpers');

const LINES_GAME = 'fortune-lines';
const WAYS_GAME = 'gem-cascade';
const FUNDS = 100n * MICROS_PER_UNIT;
/** The smallest bet level, 0.10: a bought bonus then costs 10.00. */
const BET = 100000n;
const SPINS = 3;
/** A round's boards are shown one after another; a bonus of many free spins takes a while to show. */
const ROUND_SHOWN_MS = 90000;
/** The most steps a round played over the API may have before the test calls it a fault. */
const STEPS_MAX = 1000;

/** Micro-units as the page shows them: "1,234.50", at least two decimals, exact. */
function formatUnits(micros) {
  const value = BigInt(micros);
  const negative = value < 0n;
  const absolute = negative ? -value : value;
  const whole = (absolute / MICROS_PER_UNIT).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = (absolute % MICROS_PER_UNIT).toString().padStart(6, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

function auth(token) {
  return { Authorization: `Bearer ${token}` };
}

async function apiGet(request, token, path) {
  return expectStatus(await request.get(path, { headers: auth(token) }), 200, `GET ${path}`);
}

async function apiPost(request, token, path, data, key) {
  const headers = key ? { ...auth(token), 'Idempotency-Key': key } : auth(token);
  return expectStatus(await request.post(path, { headers, data }), 200, `POST ${path}`);
}

/** Plays one whole round over the API (a spin, or a bonus buy) and returns its recall. */
async function playRoundOverApi(request, token, game, { buy = false } = {}) {
  const init = await apiPost(request, token, '/api/v1/game/init',
    { game_id: game, platform: 'test', locale: 'en', client_version: '1.0.0' });
  const session = init.session_id;
  let answer = buy
    ? await apiPost(request, token, '/api/v1/bonus/trigger', { session_id: session, game_id: game,
      action: 'buy_feature', feature_id: 'bonus', bet: { amount: Number(BET) } }, randomKey('pw-buy-'))
    : await apiPost(request, token, '/api/v1/spin',
      { session_id: session, game_id: game, bet: { amount: Number(BET) } }, randomKey('pw-spin-'));
  for (let step = 1; answer.next_state === 'free_spins'; step += 1) {
    expect(step, 'a round ends within its step bound').toBeLessThan(STEPS_MAX);
    answer = await apiPost(request, token, '/api/v1/bonus/trigger',
      { session_id: session, game_id: game, action: 'spin', bonus_round_id: answer.spin_id }, randomKey('pw-reveal-'));
  }
  expect(answer.round.finished).toBe(true);
  return apiGet(request, token, `/api/v1/slots/rounds/${answer.spin_id}`);
}

/**
 * The player page logged in with `token`, in the slot view of `game` (opened from its card in the lobby)
 * and ready for a spin at BET; with `resuming`, only until the game's session is open (a round left open
 * then plays on).
 */
async function openSlots(page, token, game, { resuming = false } = {}) {
  await page.addInitScript((savedToken) => sessionStorage.setItem('gc.player.token', savedToken), token);
  await page.goto('/');
  await expect(page.getByTestId('lobby-section')).toBeVisible();
  // The crash room's socket sends the balance when it opens: let that land before any spin.
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  await page.locator(`[data-testid="game-card"][data-provider="house"][data-code="${game}"]`).click();
  await expect(page.getByTestId('slots-section')).toBeVisible();
  await expect(page.getByTestId('crash-panel')).toBeHidden();
  await expect(page.getByTestId('lobby-section')).toBeHidden();
  const opened = resuming ? /^(idle|animating|free_spins|done)$/ : /^idle$/;
  await expect(page.getByTestId('slot-state')).toHaveAttribute('data-state', opened);
  await expect(page.getByTestId('slot-game-select')).toHaveValue(game);
  if (!resuming) await page.getByTestId('slot-bet-select').selectOption(String(BET));
}

/** The balance the page shows, in micro-units, once it has one. */
async function shownBalance(page) {
  const balance = page.getByTestId('balance');
  await expect(balance).toHaveAttribute('data-micros', /^\d+$/);
  return BigInt(await balance.getAttribute('data-micros'));
}

async function expectBalance(page, micros) {
  const balance = page.getByTestId('balance');
  await expect(balance).toHaveAttribute('data-micros', micros.toString());
  await expect(balance).toHaveText(formatUnits(micros));
}

test('a spin changes the balance by exactly minus the stake plus the round\'s win', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openSlots(page, token, WAYS_GAME);
  await expectBalance(page, FUNDS);
  await expect(page.locator('.slot-board .cell')).toHaveCount(5 * 4);
  await snap(page, 'slots-01-ready');

  const result = page.getByTestId('slot-result');
  for (let spin = 1; spin <= SPINS; spin += 1) {
    const before = await shownBalance(page);
    const answered = page.waitForResponse((response) => response.url().endsWith('/api/v1/spin') && response.request().method() === 'POST');
    await page.getByTestId('slot-spin').click();
    const first = await (await answered).json();
    expect(BigInt(first.stake)).toBe(BET);
    // The page shows the round's boards (and any free spins it triggered) and then its result.
    await expect(result).toHaveAttribute('data-spin-id', first.spin_id);
    await expect(result).toHaveAttribute('data-state', 'finished', { timeout: ROUND_SHOWN_MS });
    await expect(page.getByTestId('slot-state')).toHaveAttribute('data-state', 'done');
    const recall = await apiGet(request, token, `/api/v1/slots/rounds/${first.spin_id}`);
    const totalWin = BigInt(recall.round.total_win);
    const expected = before - BigInt(recall.stake) + totalWin;
    await expectBalance(page, expected);
    await expect(result).toHaveAttribute('data-win', totalWin.toString());
    const wallet = await apiGet(request, token, '/api/v1/wallet/balance');
    expect(BigInt(wallet.balance), 'the wallet agrees with the page').toBe(expected);
    await snap(page, `slots-02-spin-${spin}`);
  }
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a bought bonus plays every free spin to its summary and pays its win', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openSlots(page, token, LINES_GAME);
  await expectBalance(page, FUNDS);
  const reveals = [];
  page.on('response', async (response) => {
    if (!response.url().endsWith('/api/v1/bonus/trigger') || response.status() !== 200) return;
    const body = JSON.parse(response.request().postData() || '{}');
    if (body.action === 'spin') reveals.push(response.json());
  });

  // The first free spin by hand, the rest by auto-play.
  await page.getByTestId('slot-autoplay').uncheck();
  await expect(page.getByTestId('slot-buy-bonus')).toHaveAttribute('data-price', String(100n * BET));
  const bought = page.waitForResponse((response) => response.url().endsWith('/api/v1/bonus/trigger'));
  await page.getByTestId('slot-buy-bonus').click();
  const buy = await (await bought).json();
  expect(BigInt(buy.stake)).toBe(100n * BET);
  expect(buy.next_state).toBe('free_spins');
  const freeSpins = page.getByTestId('slot-freespins');
  await expect(page.getByTestId('slot-state')).toHaveAttribute('data-state', 'free_spins');
  await expect(freeSpins).toHaveAttribute('data-played', '0');
  await expectBalance(page, FUNDS - 100n * BET);
  await snap(page, 'slots-03-bonus-bought');

  await page.getByTestId('slot-next-free-spin').click();
  await expect(freeSpins).toHaveAttribute('data-played', '1');
  await expect(page.getByTestId('slot-board')).toHaveAttribute('data-step', '1');
  await snap(page, 'slots-04-first-free-spin');
  await page.getByTestId('slot-autoplay').check();

  const summary = page.getByTestId('slot-bonus-summary');
  await expect(summary).toBeVisible({ timeout: ROUND_SHOWN_MS });
  await expect(page.getByTestId('slot-result')).toHaveAttribute('data-state', 'finished');
  const recall = await apiGet(request, token, `/api/v1/slots/rounds/${buy.spin_id}`);
  const freeSpinCount = recall.steps.length - 1;
  expect(freeSpinCount).toBeGreaterThan(0);
  // Every free spin was revealed by the page, in order, the last one ending the round.
  const answers = await Promise.all(reveals);
  expect(answers.map((answer) => answer.outcome.step)).toEqual(Array.from({ length: freeSpinCount }, (_, i) => i + 1));
  expect(answers[answers.length - 1].next_state).toBe('base_game');
  expect(answers[answers.length - 1].bonus_summary.free_spins_played).toBe(freeSpinCount);
  await expect(page.getByTestId('slot-board')).toHaveAttribute('data-step', String(freeSpinCount));
  await expect(summary).toHaveAttribute('data-free-spins', String(freeSpinCount));
  const totalWin = BigInt(recall.round.total_win);
  await expect(summary).toHaveAttribute('data-total-win', totalWin.toString());
  await expect(page.getByTestId('slot-bonus-total')).toHaveText(formatUnits(totalWin));
  await expectBalance(page, FUNDS - 100n * BET + totalWin);
  await snap(page, 'slots-05-bonus-summary');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a recalled round shows every one of its steps', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  const spin = await playRoundOverApi(request, token, WAYS_GAME);
  const bonus = await playRoundOverApi(request, token, WAYS_GAME, { buy: true });
  await openSlots(page, token, WAYS_GAME);

  const rows = page.getByTestId('slot-round-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toHaveAttribute('data-spin-id', bonus.spin_id);
  for (const round of [bonus, spin]) {
    await page.locator(`[data-testid="slot-round-row"][data-spin-id="${round.spin_id}"] [data-testid="slot-round-open"]`).click();
    const recall = page.getByTestId('slot-recall');
    await expect(recall).toHaveAttribute('data-spin-id', round.spin_id);
    await expect(recall.getByTestId('slot-recall-step')).toHaveCount(round.steps.length);
    expect(round.steps.length).toBe(round.round.step_count);
    for (const step of round.steps) {
      // Each step shows its first board (a bought bonus's step 0 has none) and one board per cascade.
      const boards = (step.reel_matrix ? 1 : 0) + step.cascades.length;
      const shown = recall.locator(`[data-testid="slot-recall-step"][data-step="${step.step}"]`);
      await expect(shown.getByTestId('slot-recall-board')).toHaveCount(boards);
      await expect(shown).toContainText(`win ${formatUnits(step.win)}`);
    }
    await expect(page.getByTestId('slot-recall-total')).toHaveText(formatUnits(round.round.total_win));
    await snap(page, `slots-06-recall-${round.mode}`);
  }
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a round is verified from the page, the seeds rotated first', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  const round = await playRoundOverApi(request, token, LINES_GAME);
  expect(round.fairness.server_seed, 'the seed is secret before the rotation').toBeNull();
  await openSlots(page, token, LINES_GAME);

  await page.locator(`[data-testid="slot-round-row"][data-spin-id="${round.spin_id}"] [data-testid="slot-round-open"]`).click();
  await expect(page.getByTestId('slot-recall-seed')).toContainText('secret');
  await page.getByTestId('slot-verify').click();
  const verdict = page.getByTestId('slot-verify-result');
  await expect(verdict).toHaveAttribute('data-verified', 'true');
  await expect(verdict).toContainText('Verified');
  const recalled = await apiGet(request, token, `/api/v1/slots/rounds/${round.spin_id}`);
  expect(recalled.fairness.server_seed).toMatch(/\S/);
  await expect(page.getByTestId('slot-recall-seed')).toHaveText(recalled.fairness.server_seed);
  await snap(page, 'slots-07-verified');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a bonus left open continues on the page and pays once', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  const init = await apiPost(request, token, '/api/v1/game/init',
    { game_id: LINES_GAME, platform: 'test', locale: 'en', client_version: '1.0.0' });
  const bought = await apiPost(request, token, '/api/v1/bonus/trigger', { session_id: init.session_id,
    game_id: LINES_GAME, action: 'buy_feature', feature_id: 'bonus', bet: { amount: Number(BET) } }, randomKey('pw-buy-'));
  expect(bought.next_state).toBe('free_spins');

  // The page finds the open round when it opens its session and plays the rest by itself.
  await openSlots(page, token, LINES_GAME, { resuming: true });
  await expect(page.getByTestId('slot-bonus-summary')).toBeVisible({ timeout: ROUND_SHOWN_MS });
  const recall = await apiGet(request, token, `/api/v1/slots/rounds/${bought.spin_id}`);
  expect(recall.round.finished).toBe(true);
  await expect(page.getByTestId('slot-bonus-summary')).toHaveAttribute('data-free-spins', String(recall.steps.length - 1));
  await expectBalance(page, FUNDS - 100n * BET + BigInt(recall.round.total_win));
  await snap(page, 'slots-08-resumed');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a bonus ended elsewhere leaves the page with its result, not stuck in free spins', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openSlots(page, token, LINES_GAME);
  await page.getByTestId('slot-autoplay').uncheck();
  const bought = page.waitForResponse((response) => response.url().endsWith('/api/v1/bonus/trigger'));
  await page.getByTestId('slot-buy-bonus').click();
  const buy = await (await bought).json();
  await expect(page.getByTestId('slot-state')).toHaveAttribute('data-state', 'free_spins');

  // Another client ends the round (every free spin revealed and paid at once).
  const init = await apiPost(request, token, '/api/v1/game/init',
    { game_id: LINES_GAME, platform: 'test', locale: 'en', client_version: '1.0.0' });
  const ended = await apiPost(request, token, '/api/v1/round/end',
    { session_id: init.session_id, game_id: LINES_GAME }, randomKey('pw-end-'));
  expect(ended.round.finished).toBe(true);

  await page.getByTestId('slot-next-free-spin').click();
  await expect(page.getByTestId('slot-state')).toHaveAttribute('data-state', 'idle');
  await expect(page.getByTestId('message')).toContainText('already ended');
  await expect(page.getByTestId('slot-freespins')).toBeHidden();
  await expectBalance(page, FUNDS - 100n * BET + BigInt(ended.round.total_win));
  await expect(page.locator(`[data-testid="slot-round-row"][data-spin-id="${buy.spin_id}"]`)).toHaveAttribute('data-status', /settled/);
  await expect(page.getByTestId('slot-spin')).toBeEnabled();
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});
