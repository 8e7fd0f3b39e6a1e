// The lobby of the player page end to end, against the real catalog (`GET /api/v1/games`) and launch
// (`POST /api/v1/games/{id}/launch`): the filters narrow the cards exactly as the API does, a long list
// comes a page at a time, a refused launch (no money, a self-exclusion) is explained, and every house game
// is played once from its card: a crash bet, a dice roll (verified from its seeds afterwards), a plinko
// drop (also opened from a link without a session), a mines game and a slot spin. After each, the page's
// balance is the wallet's. An outside studio's game opens the address its provider's launch template
// gives, in a new tab. The admin API sets up the outside studios and the self-exclusion (ADMIN_USERNAME
// and ADMIN_PASSWORD, as for admin.spec.js).
const { test, expect } = require('@playwright/test');
const {
  MICROS_PER_UNIT, adminToken, createPlayer, expectStatus, randomKey, snap, waitForBettingPhase, waitForRoom, watchProblems,
} = require('./helpers');

const FUNDS = 100n * MICROS_PER_UNIT;
const STAKE = 1n * MICROS_PER_UNIT;
const CRASH_ROOM = 'aviator';
/** Betting phases tried for the crash bet (betting may close between the look and the click). */
const CRASH_ATTEMPTS_MAX = 5;
/** A slot round's boards are shown one after another; a round with free spins takes a while. */
const SLOT_ROUND_SHOWN_MS = 90000;
/** As many games as the lobby asks for per page. */
const LOBBY_PAGE_SIZE = 40;

function auth(token) {
  return { Authorization: `Bearer ${token}` };
}

/** The catalog as the API answers it for these filters. */
async function catalog(request, filters = {}) {
  const query = new URLSearchParams({ ...filters, limit: String(LOBBY_PAGE_SIZE) });
  return expectStatus(await request.get(`/api/v1/games?${query}`), 200, `GET /api/v1/games?${query}`);
}

async function walletBalance(request, token) {
  const answer = await expectStatus(await request.get('/api/v1/wallet/balance', { headers: auth(token) }), 200, 'balance');
  return BigInt(answer.balance);
}

/** The page shows exactly what the wallet holds. */
async function expectWalletBalance(page, request, token) {
  const micros = await walletBalance(request, token);
  await expect(page.getByTestId('balance')).toHaveAttribute('data-micros', micros.toString());
  return micros;
}

/** The player page logged in with `token`, on the lobby with the whole catalog listed. */
async function openLobby(page, token) {
  await page.addInitScript((savedToken) => sessionStorage.setItem('gc.player.token', savedToken), token);
  await page.goto('/');
  await expect(page.getByTestId('lobby-section')).toBeVisible();
  await expect(page.getByTestId('game-cards')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('balance')).toHaveAttribute('data-micros', /^\d+$/);
}

function houseCard(page, code) {
  return page.locator(`[data-testid="game-card"][data-provider="house"][data-code="${code}"]`);
}

/** Clicks a house game's card and waits for its view under `#/play/{code}?session=…`. */
async function launchFromLobby(page, code, view) {
  await houseCard(page, code).click();
  await expect(page).toHaveURL(new RegExp(`#/play/${code}\\?session=[0-9a-f-]+$`));
  await expect(page.getByTestId(view)).toBeVisible();
  await expect(page.getByTestId('lobby-section')).toBeHidden();
}

/** Waits until the cards answer the filters now set (the page writes them in data-query). */
async function expectCardsFor(page, filters) {
  const cards = page.getByTestId('game-cards');
  await expect(cards).toHaveAttribute('data-query', new URLSearchParams(filters).toString());
  await expect(cards).toHaveAttribute('data-state', 'ready');
}

async function shownCodes(page) {
  return page.getByTestId('game-card').evaluateAll((cards) => cards.map((card) => `${card.dataset.provider}/${card.dataset.code}`));
}

function codesOf(answer) {
  return answer.games.map((game) => `${game.provider}/${game.code}`);
}

test('the lobby lists the catalog and filters it by category, name and provider', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  const everything = await catalog(request);
  const house = (await catalog(request, { provider: 'house' })).games;
  for (const code of ['aviator', 'jetx', 'dice', 'plinko', 'mines']) {
    expect(house.map((game) => game.code), `the catalog lists the house game ${code}`).toContain(code);
  }
  await openLobby(page, token);
  await expectCardsFor(page, {});
  expect(await shownCodes(page)).toEqual(codesOf(everything));
  await expect(page.getByTestId('lobby-count')).toContainText(`of ${everything.total}`);
  const plinko = house.find((game) => game.code === 'plinko');
  const plinkoCard = houseCard(page, 'plinko');
  await expect(plinkoCard).toContainText(plinko.name);
  await expect(plinkoCard).toContainText(plinko.provider_name);
  const rtp = `${Math.floor(plinko.rtp_bps / 100)}.${String(plinko.rtp_bps % 100).padStart(2, '0')} %`;
  await expect(plinkoCard).toContainText(`RTP ${rtp}`);
  await snap(page, 'lobby-01-all');

  // A category chip: only that category, as the API lists it.
  await page.locator('[data-testid="category-chip"][data-category="originals"]').click();
  await expectCardsFor(page, { category: 'originals' });
  expect(await shownCodes(page)).toEqual(codesOf(await catalog(request, { category: 'originals' })));
  for (const category of await page.getByTestId('game-card').evaluateAll((cards) => cards.map((card) => card.dataset.category))) {
    expect(category).toBe('originals');
  }
  await expect(page.locator('[data-testid="category-chip"][data-category="originals"]')).toHaveAttribute('aria-selected', 'true');
  await snap(page, 'lobby-02-originals');

  // The search box within the category, then across all of them.
  const words = plinko.name.slice(0, Math.min(4, plinko.name.length));
  await page.getByTestId('lobby-search').fill(words);
  await expectCardsFor(page, { category: 'originals', q: words });
  expect(await shownCodes(page)).toEqual(codesOf(await catalog(request, { category: 'originals', q: words })));
  await expect(plinkoCard).toBeVisible();
  await page.locator('[data-testid="category-chip"][data-category=""]').click();
  await expectCardsFor(page, { q: words });
  expect(await shownCodes(page)).toEqual(codesOf(await catalog(request, { q: words })));

  // A search that matches nothing says so.
  await page.getByTestId('lobby-search').fill('no game is called this');
  await expectCardsFor(page, { q: 'no game is called this' });
  await expect(page.getByTestId('lobby-empty')).toBeVisible();
  await page.getByTestId('lobby-search').fill('');

  // The provider filter.
  await page.getByTestId('provider-filter').selectOption('house');
  await expectCardsFor(page, { provider: 'house' });
  expect(await shownCodes(page)).toEqual(codesOf(await catalog(request, { provider: 'house' })));
  await snap(page, 'lobby-03-house');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a launch the server refuses is explained and the lobby stays', async ({ browser, request }) => {
  const poor = await createPlayer(request, { topUpMicros: 0n });
  const excluded = await createPlayer(request, { topUpMicros: FUNDS });
  // The player excludes themselves for a day (the token they hold still opens the lobby).
  await expectStatus(await request.post('/api/v1/self-exclusion', {
    headers: auth(excluded.token), data: { days: 1 },
  }), 200, 'a self-exclusion');

  for (const [player, code, text] of [
    [poor, 'insufficient_balance', 'top up to play'],
    [excluded, 'self_excluded', 'You have excluded yourself from play'],
  ]) {
    // Each player in a browser of their own.
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    await openLobby(page, player.token);
    await houseCard(page, 'dice').click();
    const shown = page.getByTestId('message');
    await expect(shown).toHaveAttribute('data-kind', 'error');
    await expect(shown).toContainText(code);
    await expect(shown).toContainText(text);
    await expect(page.getByTestId('lobby-section')).toBeVisible();
    await expect(page.getByTestId('dice-section')).toBeHidden();
    expect(new URL(page.url()).hash).not.toContain('/play/');
    await snap(page, `lobby-04-launch-refused-${code}`);
    expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
    await context.close();
  }
});

test('a crash bet from the lobby', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openLobby(page, token);
  await launchFromLobby(page, CRASH_ROOM, 'crash-panel');
  await expect(page.getByTestId('room-name')).toHaveText(CRASH_ROOM);
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  const phase = page.getByTestId('phase');
  let placed = null;
  for (let attempt = 1; attempt <= CRASH_ATTEMPTS_MAX && !placed; attempt += 1) {
    // However long the round under way runs, the wait follows it to the next betting phase.
    await waitForBettingPhase(request, CRASH_ROOM, { marginMs: 2000 });
    await expect(phase).toHaveAttribute('data-phase', 'betting', { timeout: 2000 });
    await page.getByTestId('bet-amount').fill('1.00');
    await page.getByTestId('place-bet').click();
    const bet = page.locator('[data-testid="my-bet"][data-status="open"]').last();
    try {
      await expect(bet).toBeVisible({ timeout: 5000 });
      placed = { id: await bet.getAttribute('data-bet-id'), amount: await bet.getAttribute('data-amount') };
    } catch {
      // Betting closed between the look and the click: the next round is tried once this one ends.
      await waitForRoom(request, CRASH_ROOM, (state) => state.phase !== 'betting', { what: 'the end of that betting phase' });
    }
  }
  expect(placed, `a bet placed in ${CRASH_ATTEMPTS_MAX} betting phases`).not.toBeNull();
  expect(placed.amount).toBe(STAKE.toString());
  await expect(page.locator(`[data-testid="my-bet"][data-bet-id="${placed.id}"]`)).toBeVisible();
  await expectWalletBalance(page, request, token);
  await snap(page, 'lobby-05-crash-bet');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a dice roll from the lobby, verified from its seeds', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openLobby(page, token);
  await launchFromLobby(page, 'dice', 'dice-section');
  await page.getByTestId('dice-amount').fill('1.00');
  await page.getByTestId('dice-target').fill('50.00');
  await page.getByTestId('dice-direction').selectOption('over');
  await expect(page.getByTestId('dice-odds')).toContainText('Win chance 50.00 %');
  const answered = page.waitForResponse((response) => response.url().endsWith('/api/v1/dice/roll'));
  await page.getByTestId('dice-roll-button').click();
  const { bet, balance } = await expectStatus(await answered, 200, 'dice roll');
  const roll = page.getByTestId('dice-roll');
  await expect(roll).toHaveAttribute('data-bet-id', bet.id);
  await expect(roll).toHaveAttribute('data-state', bet.result.won ? 'won' : 'lost');
  await expect(roll).toHaveAttribute('data-payout', String(bet.payout));
  expect(BigInt(balance)).toBe(FUNDS - STAKE + BigInt(bet.payout));
  expect(await expectWalletBalance(page, request, token)).toBe(BigInt(balance));
  await expect(page.locator('[data-testid="dice-fairness"] [data-testid="fair-server-seed-hash"]')).toHaveText(bet.fairness.server_seed_hash);
  await expect(page.locator('[data-testid="dice-fairness"] [data-testid="fair-nonce"]')).toHaveText(String(bet.fairness.nonce));
  await snap(page, 'lobby-06-dice');

  // The link verifies the bet (rotating the seeds first, which reveals the server seed).
  await page.locator('[data-testid="dice-fairness"] [data-testid="fair-verify-link"]').click();
  await expect(page).toHaveURL(new RegExp(`#/verify/${bet.id}$`));
  await expect(page.getByTestId('verify-section')).toBeVisible();
  await expect(page.getByTestId('verify-game')).toHaveText('dice');
  await page.getByTestId('verify-button').click();
  await expect(page.getByTestId('verify-result')).toHaveAttribute('data-verified', 'true');
  const recorded = await expectStatus(await request.get(`/api/v1/bets/${bet.id}`, { headers: auth(token) }), 200, 'the bet');
  expect(recorded.bet.fairness.server_seed).toMatch(/\S/);
  await expect(page.getByTestId('verify-server-seed')).toHaveText(recorded.bet.fairness.server_seed);
  await snap(page, 'lobby-07-dice-verified');

  // Back returns to the game, and back again to the lobby.
  await page.goBack();
  await expect(page.getByTestId('dice-section')).toBeVisible();
  await page.goBack();
  await expect(page.getByTestId('lobby-section')).toBeVisible();
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a plinko drop from the lobby, and from a link without a session', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openLobby(page, token);
  await launchFromLobby(page, 'plinko', 'plinko-section');
  const board = page.getByTestId('plinko-board');
  for (const [rows, risk] of [['8', 'low'], ['12', 'high']]) {
    await page.getByTestId('plinko-amount').fill('1.00');
    await page.getByTestId('plinko-rows').selectOption(rows);
    await page.getByTestId('plinko-risk').selectOption(risk);
    const answered = page.waitForResponse((response) => response.url().endsWith('/api/v1/plinko/drop'));
    await page.getByTestId('plinko-drop').click();
    const { bet, balance } = await expectStatus(await answered, 200, 'plinko drop');
    expect(bet.result.path).toHaveLength(Number(rows));
    await expect(board).toHaveAttribute('data-bet-id', bet.id);
    await expect(board).toHaveAttribute('data-state', 'landed');
    await expect(board).toHaveAttribute('data-path', bet.result.path.join(','));
    await expect(board).toHaveAttribute('data-multiplier', String(bet.result.multiplier));
    await expect(board.locator('.plinko-slot-hit')).toHaveAttribute('data-slot', String(bet.result.slot));
    await expect(page.getByTestId('plinko-path')).toHaveText(`Path: ${bet.result.path.map((step) => (step === 1 ? 'R' : 'L')).join(' ')}`);
    await expect(page.getByTestId('plinko-state')).toHaveAttribute('data-state', 'done');
    expect(await expectWalletBalance(page, request, token)).toBe(BigInt(balance));
    await expect(page.locator('[data-testid="plinko-fairness"] [data-testid="fair-nonce"]')).toHaveText(String(bet.fairness.nonce));
    await snap(page, `lobby-08-plinko-${rows}-${risk}`);
  }

  // A link without a session (typed, or kept from elsewhere) launches the game first.
  await page.goto('/#/play/plinko');
  await expect(page).toHaveURL(/#\/play\/plinko\?session=[0-9a-f-]+$/);
  await expect(page.getByTestId('plinko-section')).toBeVisible();
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a mines game from the lobby: a bet, a tile, then a cash out or a mine', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openLobby(page, token);
  await launchFromLobby(page, 'mines', 'mines-section');
  const grid = page.getByTestId('mines-grid');
  await page.getByTestId('mines-amount').fill('1.00');
  await page.getByTestId('mines-count').selectOption('3');
  await page.getByTestId('mines-bet').click();
  await expect(grid).toHaveAttribute('data-status', 'open');
  await expect(page.getByTestId('mines-tile')).toHaveCount(25);
  expect(await expectWalletBalance(page, request, token)).toBe(FUNDS - STAKE);
  await snap(page, 'lobby-09-mines-open');

  const clicked = page.waitForResponse((response) => response.url().endsWith('/api/v1/mines/click'));
  await page.locator('[data-testid="mines-tile"][data-tile="12"]').click();
  let { bet } = await expectStatus(await clicked, 200, 'mines click');
  if (bet.status === 'open') {
    await expect(page.locator('[data-testid="mines-tile"][data-tile="12"]')).toHaveAttribute('data-state', 'safe');
    await expect(page.getByTestId('mines-cashout')).toBeEnabled();
    const cashed = page.waitForResponse((response) => response.url().endsWith('/api/v1/mines/cashout'));
    await page.getByTestId('mines-cashout').click();
    ({ bet } = await expectStatus(await cashed, 200, 'mines cash out'));
    expect(BigInt(bet.payout)).toBeGreaterThan(STAKE);
    await expect(page.getByTestId('mines-state')).toHaveAttribute('data-state', 'won');
  } else {
    expect(bet.result.mine_hit).toBe(12);
    await expect(page.locator('[data-testid="mines-tile"][data-tile="12"]')).toHaveAttribute('data-state', 'mine-hit');
    await expect(page.getByTestId('mines-state')).toHaveAttribute('data-state', 'lost');
  }
  // The game is over and the whole board is shown: every mine where the server put it.
  expect(bet.status).toBe('settled');
  await expect(grid).toHaveAttribute('data-status', 'settled');
  await expect(page.locator('[data-testid="mines-tile"][data-state^="mine"]')).toHaveCount(3);
  for (const mine of bet.result.mines) {
    await expect(page.locator(`[data-testid="mines-tile"][data-tile="${mine}"]`)).toHaveAttribute('data-state', /^mine/);
  }
  await expect(page.getByTestId('mines-outcome')).toHaveAttribute('data-payout', String(bet.payout));
  expect(await expectWalletBalance(page, request, token)).toBe(FUNDS - STAKE + BigInt(bet.payout));
  await expect(page.getByTestId('mines-bet')).toBeEnabled();
  await snap(page, 'lobby-10-mines-over');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a slot spin from the lobby', async ({ page, request }) => {
  const problems = watchProblems(page);
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  const slots = await catalog(request, { category: 'slots', provider: 'house' });
  expect(slots.games.length, 'the catalog lists a house slot').toBeGreaterThan(0);
  const slot = slots.games[0];
  await openLobby(page, token);
  await launchFromLobby(page, slot.code, 'slots-section');
  await expect(page.getByTestId('crash-panel')).toBeHidden();
  await expect(page.getByTestId('slot-game-select')).toHaveValue(slot.code);
  await expect(page.getByTestId('slot-state')).toHaveAttribute('data-state', 'idle');
  const answered = page.waitForResponse((response) => response.url().endsWith('/api/v1/spin') && response.request().method() === 'POST');
  await page.getByTestId('slot-spin').click();
  const first = await (await answered).json();
  const result = page.getByTestId('slot-result');
  await expect(result).toHaveAttribute('data-spin-id', first.spin_id);
  await expect(result).toHaveAttribute('data-state', 'finished', { timeout: SLOT_ROUND_SHOWN_MS });
  const recall = await expectStatus(await request.get(`/api/v1/slots/rounds/${first.spin_id}`, { headers: auth(token) }), 200, 'the round');
  const expected = FUNDS - BigInt(recall.stake) + BigInt(recall.round.total_win);
  expect(await expectWalletBalance(page, request, token)).toBe(expected);
  await snap(page, 'lobby-11-slot-spin');

  // Another slot chosen in the view is launched like one chosen in the lobby: a session of its own.
  const other = slots.games.find((game) => game.code !== slot.code);
  expect(other, 'the catalog lists a second house slot (two are shipped)').toBeTruthy();
  await page.getByTestId('slot-game-select').selectOption(other.code);
  await expect(page).toHaveURL(new RegExp(`#/play/${other.code}\\?session=[0-9a-f-]+$`));
  await expect(page.getByTestId('slot-game-select')).toHaveValue(other.code);
  await expect(page.getByTestId('slot-state')).toHaveAttribute('data-state', 'idle');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('an outside game opens its provider\'s address in a new tab', async ({ page, request, context, baseURL }) => {
  const problems = watchProblems(page);
  const admin = { Authorization: `Bearer ${await adminToken(request)}` };
  // A studio of its own for this run, whose launch address is a page of this cluster (so the new tab loads).
  const providerId = `pw-${randomKey('').slice(0, 12)}`;
  await expectStatus(await request.post('/api/v1/admin/providers', {
    headers: admin,
    data: {
      id: providerId, name: `Playwright Studio ${providerId}`, protocol: 'generic', secret: randomKey('secret-'),
      launch_url: `${baseURL}/health?game={game_code}&token={token}`, currencies: ['USD'],
    },
  }), 201, 'a new provider');
  await expectStatus(await request.post('/api/v1/admin/games', {
    headers: admin,
    data: {
      provider: providerId, code: 'pw-table', name: `Playwright Table ${providerId}`, category: 'table', rtp_bps: 9700,
      volatility: 'low', bet_min_micros: 100000, bet_max_micros: 100000000,
    },
  }), 201, 'a new game');
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openLobby(page, token);
  await page.getByTestId('provider-filter').selectOption(providerId);
  await expectCardsFor(page, { provider: providerId });
  const card = page.locator(`[data-testid="game-card"][data-provider="${providerId}"][data-code="pw-table"]`);
  await expect(card).toContainText('RTP 97.00 %');
  await expect(card).toContainText(`Playwright Studio ${providerId}`);

  const launched = page.waitForResponse((response) => /\/api\/v1\/games\/\d+\/launch$/.test(response.url()));
  const opened = context.waitForEvent('page');
  await card.click();
  const session = await expectStatus(await launched, 201, 'the launch');
  expect(session.provider).toBe(providerId);
  expect(session.url).toContain(`game=pw-table&token=${session.token}`);
  const tab = await opened;
  await tab.waitForLoadState();
  expect(tab.url()).toBe(session.url);
  await expect(page.getByTestId('launched-external')).toBeVisible();
  await expect(page.getByTestId('launched-link')).toHaveAttribute('href', session.url);
  // The lobby stays where it was.
  await expect(page.getByTestId('lobby-section')).toBeVisible();
  await snap(page, 'lobby-12-outside-game');
  await tab.close();
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test('a long list is shown a page at a time', async ({ page, request }) => {
  const problems = watchProblems(page);
  const admin = { Authorization: `Bearer ${await adminToken(request)}` };
  const providerId = `pw-${randomKey('').slice(0, 12)}`;
  await expectStatus(await request.post('/api/v1/admin/providers', {
    headers: admin,
    data: { id: providerId, name: `Paging Studio ${providerId}`, protocol: 'generic', secret: randomKey('secret-'), currencies: ['USD'] },
  }), 201, 'a new provider');
  const count = LOBBY_PAGE_SIZE + 5;
  const games = Array.from({ length: count }, (_, index) => ({
    code: `pw-${index}`, name: `Paged Game ${String(index).padStart(2, '0')}`, category: 'slots', rtp_bps: 9500,
    volatility: 'high', bet_min_micros: 100000, bet_max_micros: 100000000,
  }));
  await expectStatus(await request.post(`/api/v1/admin/providers/${providerId}/games/import`, { headers: admin, data: { games } }), 200, 'the import');
  const { token } = await createPlayer(request, { topUpMicros: FUNDS });
  await openLobby(page, token);
  await page.getByTestId('provider-filter').selectOption(providerId);
  await expectCardsFor(page, { provider: providerId });
  await expect(page.getByTestId('game-card')).toHaveCount(LOBBY_PAGE_SIZE);
  await expect(page.getByTestId('lobby-count')).toHaveText(`${LOBBY_PAGE_SIZE} of ${count} games`);
  await page.getByTestId('lobby-more').click();
  await expect(page.getByTestId('game-card')).toHaveCount(count);
  await expect(page.getByTestId('lobby-more')).toBeHidden();
  // In the catalog's order (by name here) and each game once.
  const names = await page.getByTestId('game-card-name').allTextContents();
  expect(names).toEqual(games.map((game) => game.name));
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});
