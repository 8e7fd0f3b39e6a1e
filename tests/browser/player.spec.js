// The player page end to end: a new player signs up in the browser, tops up in the lobby, opens the
// crash room from its card, bets in a live round and cashes out by hand, and the page shows the exact new
// balance.
const { test, expect } = require('@playwright/test');
const {
  PASSWORD, MICROS_PER_UNIT, snap, uniqueUsername, waitForBettingPhase, waitForRoom, watchProblems,
} = require('./helpers');

const STAKE_MICROS = 1n * MICROS_PER_UNIT;
const ATTEMPTS_MAX = 5;
const ROOM = 'aviator';

test('a new player signs up, tops up, bets, cashes out and sees the balance change', async ({ page, request }) => {
  const problems = watchProblems(page);
  const username = uniqueUsername();
  const balance = page.getByTestId('balance');
  const phase = page.getByTestId('phase');

  await page.goto('/');
  await expect(page.getByTestId('auth-form')).toBeVisible();
  await expect(page.getByTestId('game-section')).toBeHidden();
  await snap(page, 'player-01-login-form');

  // The server's refusals are shown: a name that breaks the username rules.
  await page.getByTestId('username').fill('x!');
  await page.getByTestId('password').fill(PASSWORD);
  await page.getByTestId('signup-button').click();
  await expect(page.getByTestId('message')).toContainText('invalid_username');
  await expect(page.getByTestId('message')).toHaveAttribute('data-kind', 'error');

  await page.getByTestId('username').fill(username);
  await page.getByTestId('password').fill(PASSWORD);
  await page.getByTestId('signup-button').click();
  await expect(page.getByTestId('game-section')).toBeVisible();
  await expect(page.getByTestId('lobby-section')).toBeVisible();
  await expect(page.getByTestId('player-name')).toHaveText(username);
  await expect(balance).toHaveAttribute('data-micros', '0');
  await snap(page, 'player-02-signed-up');

  await page.getByTestId('top-up').click();
  await expect(balance).toHaveAttribute('data-micros', String(100n * MICROS_PER_UNIT));
  await expect(balance).toHaveText('100.00');
  await snap(page, 'player-03-topped-up');

  // The room is a game of the lobby: its card opens the crash view.
  await page.locator(`[data-testid="game-card"][data-provider="house"][data-code="${ROOM}"]`).click();
  await expect(page.getByTestId('crash-panel')).toBeVisible();
  await expect(page.getByTestId('room-name')).toHaveText(ROOM);
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');

  await page.getByTestId('bet-amount').fill('1.00');
  await page.getByTestId('auto-cashout').fill('');

  let cashedOut = null;
  for (let attempt = 1; attempt <= ATTEMPTS_MAX && !cashedOut; attempt += 1) {
    // A round that is already running or crashed ends first (however long it runs); then the next
    // betting phase opens, and the page shows it.
    await waitForBettingPhase(request, ROOM, { marginMs: 2000 });
    await expect(phase).toHaveAttribute('data-phase', 'betting', { timeout: 2000 });
    const before = BigInt(await balance.getAttribute('data-micros'));
    await page.getByTestId('place-bet').click();
    const bet = page.locator('[data-testid="my-bet"][data-status="open"]').last();
    try {
      await expect(bet).toBeVisible({ timeout: 5000 });
    } catch {
      // Betting closed between the look and the click (betting_closed): try the next round.
      await expect(phase).not.toHaveAttribute('data-phase', 'betting', { timeout: 10000 });
      continue;
    }
    const betId = await bet.getAttribute('data-bet-id');
    const myBet = page.locator(`[data-testid="my-bet"][data-bet-id="${betId}"]`);
    await expect(balance).toHaveAttribute('data-micros', String(before - STAKE_MICROS));
    await snap(page, `player-04-bet-placed-${attempt}`);

    await expect(phase).toHaveAttribute('data-phase', /running|crashed/, { timeout: 30000 });
    const cashout = page.getByTestId('cashout');
    if (await cashout.isEnabled()) {
      await cashout.click({ timeout: 2000 }).catch(() => {});
    }
    // Settled by the cash out, or lost at the crash however late it comes.
    await waitForRoom(request, ROOM, async () => /cashed_out|lost/.test((await myBet.getAttribute('data-status')) || ''), {
      what: `bet ${betId} settled`,
    });
    if ((await myBet.getAttribute('data-status')) !== 'cashed_out') {
      // The round crashed before the cash out landed (it can crash at 1.00x): play the next one.
      await snap(page, `player-05-lost-${attempt}`);
      continue;
    }
    const payout = BigInt(await myBet.getAttribute('data-payout'));
    expect(payout).toBeGreaterThanOrEqual(STAKE_MICROS);
    await expect(myBet).toContainText('cashed out');
    await expect(balance).toHaveAttribute('data-micros', String(before - STAKE_MICROS + payout));
    cashedOut = { before, payout };
    await snap(page, `player-05-cashed-out-${attempt}`);
  }
  expect(cashedOut, `no cash out landed in ${ATTEMPTS_MAX} rounds`).not.toBeNull();

  // After the round the history and the transactions show the bet and the win.
  await expect(page.locator('[data-testid="history-row"][data-status="cashed_out"]').first()).toBeVisible({ timeout: 20000 });
  await expect(page.locator('[data-testid="transaction-row"][data-kind="win"]').first()).toBeVisible({ timeout: 20000 });
  // The room's leaderboard is rendered from the public API: its winners, or that there are none yet.
  await expect(page.getByTestId('leaderboard-room')).toContainText('aviator');
  await expect(page.locator('[data-testid="leaderboard-row"], [data-testid="leaderboard-empty"]').first()).toBeVisible();
  await snap(page, 'player-06-history');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});
