// The admin dashboard against a running cluster: log-in is required (and the API refuses anyone else),
// every node shows up healthy with live room curves, and pausing a room from the dashboard stops bets
// until it is resumed. Needs ADMIN_USERNAME and ADMIN_PASSWORD; EXPECTED_NODES (node-1,node-2,...)
// names the nodes that must be listed, otherwise the API's own list is used.
const { test, expect } = require('@playwright/test');
const {
  snap, createPlayer, adminToken, expectStatus, randomKey, waitForBettingPhase, watchProblems, MICROS_PER_UNIT,
} = require('./helpers');

const ADMIN_USERNAME = process.env.ADMIN_USERNAME;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const PAUSE_ROOM = process.env.PAUSE_ROOM || 'jetx';
// Betting phases tried for the bet after resuming (each may close between the look and the bet).
const BET_ATTEMPTS_MAX = 5;

test.beforeAll(() => {
  if (!ADMIN_USERNAME || !ADMIN_PASSWORD) throw new Error('set ADMIN_USERNAME and ADMIN_PASSWORD (scripts/browser-test.sh reads them from the cluster)');
});

/** A player page in its own browser context, logged in with `token` and in the crash view of `room`. */
async function openPlayerPage(browser, token, room) {
  const context = await browser.newContext();
  await context.addInitScript(([savedToken, savedRoom]) => {
    sessionStorage.setItem('gc.player.token', savedToken);
    sessionStorage.setItem('gc.player.room', savedRoom);
  }, [token, room]);
  const page = await context.newPage();
  // A link to the room's view: the page launches the game itself.
  await page.goto(`/#/play/${room}`);
  await expect(page.getByTestId('crash-panel')).toBeVisible();
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');
  return page;
}

/** Opens /admin and logs in through the form. */
async function logIn(page) {
  await page.goto('/admin');
  await page.getByTestId('admin-username').fill(ADMIN_USERNAME);
  await page.getByTestId('admin-password').fill(ADMIN_PASSWORD);
  await page.getByTestId('admin-login-button').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
}

test('the dashboard and the admin API need an admin log-in', async ({ page, request }) => {
  const adminCalls = [];
  page.on('request', (call) => {
    const url = new URL(call.url());
    if (url.pathname.startsWith('/api/v1/admin/') && url.pathname !== '/api/v1/admin/login') adminCalls.push(url.pathname);
  });
  await page.goto('/admin');
  await expect(page.getByTestId('admin-login-form')).toBeVisible();
  await expect(page.getByTestId('dashboard')).toBeHidden();
  await expect(page.locator('[data-testid="node-row"]')).toHaveCount(0);
  await snap(page, 'admin-01-login-form');

  const anonymous = await request.get('/api/v1/admin/cluster');
  expect((await expectStatus(anonymous, 401, 'cluster without a token')).error.code).toBe('unauthorized');
  const player = await createPlayer(request, { topUpMicros: 0n });
  const asPlayer = await request.get('/api/v1/admin/cluster', { headers: { Authorization: `Bearer ${player.token}` } });
  expect((await expectStatus(asPlayer, 403, 'cluster with a player token')).error.code).toBe('forbidden');

  await page.getByTestId('admin-username').fill(ADMIN_USERNAME);
  await page.getByTestId('admin-password').fill(`${ADMIN_PASSWORD}-wrong`);
  await page.getByTestId('admin-login-button').click();
  await expect(page.getByTestId('admin-login-error')).toBeVisible();
  await expect(page.getByTestId('admin-login-error')).toContainText('invalid_credentials');
  await expect(page.getByTestId('dashboard')).toBeHidden();
  await snap(page, 'admin-02-wrong-password');
  expect(adminCalls, 'no admin data is requested before log-in').toEqual([]);

  await page.getByTestId('admin-password').fill(ADMIN_PASSWORD);
  await page.getByTestId('admin-login-button').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  await expect(page.getByTestId('admin-login')).toBeHidden();
  await expect(page.locator('[data-testid="node-row"]').first()).toBeVisible();
  await snap(page, 'admin-03-dashboard');

  // A token the API refuses (401) sends the page back to the form.
  await page.evaluate(() => sessionStorage.setItem('gc.admin.token', 'not-a-valid-token'));
  await page.reload();
  await expect(page.getByTestId('admin-login-form')).toBeVisible();
  await expect(page.getByTestId('admin-login-error')).toContainText('log in again');
  await expect(page.getByTestId('dashboard')).toBeHidden();
});

test('the dashboard lists every node as healthy and draws the rooms live', async ({ page, request }) => {
  let expected = (process.env.EXPECTED_NODES || '').split(',').map((id) => id.trim()).filter(Boolean);
  if (expected.length === 0) {
    const token = await adminToken(request);
    const cluster = await expectStatus(await request.get('/api/v1/admin/cluster', { headers: { Authorization: `Bearer ${token}` } }), 200, 'cluster');
    expected = cluster.nodes.map((node) => node.node_id);
  }
  expect(expected.length).toBeGreaterThan(0);

  const problems = watchProblems(page);
  await logIn(page);
  for (const nodeId of expected) {
    const row = page.locator(`[data-testid="node-row"][data-node-id="${nodeId}"]`);
    await expect(row, `${nodeId} is listed`).toBeVisible();
    await expect(row, `${nodeId} is healthy`).toHaveAttribute('data-healthy', 'true');
    await expect(row.getByTestId('node-health')).toHaveText('healthy');
  }
  await snap(page, 'admin-04-nodes');

  // Every room's curve receives ticks from its spectator socket: the count grows over a few seconds
  // (a round runs after at most one betting phase and one pause).
  const curves = page.locator('[data-testid="room-curve"]');
  await expect(curves.first()).toBeVisible();
  const rooms = await curves.evaluateAll((elements) => elements.map((element) => element.dataset.room));
  expect(rooms.length).toBeGreaterThan(0);
  for (const room of rooms) {
    const curve = page.locator(`[data-testid="room-curve"][data-room="${room}"]`);
    const before = Number(await curve.getAttribute('data-ticks'));
    await expect.poll(async () => Number(await curve.getAttribute('data-ticks')), {
      message: `${room}'s curve receives ticks`, timeout: 45000,
    }).toBeGreaterThan(before + 5);
  }
  await snap(page, 'admin-05-live-curves');
  expect(problems, 'no script errors and nothing blocked by the content security policy').toEqual([]);
});

test.describe('pausing a room', () => {
  test.afterEach(async ({ request }) => {
    // Whatever happened, the cluster is not left paused.
    const token = await adminToken(request);
    await request.post(`/api/v1/admin/rooms/${PAUSE_ROOM}/resume`, { headers: { Authorization: `Bearer ${token}` } });
  });

  test('stops new bets until the room is resumed', async ({ page, request, browser }) => {
    const player = await createPlayer(request);
    const playerPage = await openPlayerPage(browser, player.token, PAUSE_ROOM);
    await expect(playerPage.getByTestId('betting-paused')).toBeHidden();
    const auth = { Authorization: `Bearer ${player.token}` };
    const bet = () => request.post('/api/v1/game/bet', {
      headers: auth,
      data: { room: PAUSE_ROOM, amount: Number(MICROS_PER_UNIT), client_bet_id: randomKey('pw-bet-') },
    });

    await logIn(page);
    const card = page.locator(`[data-testid="room-card"][data-room="${PAUSE_ROOM}"]`);
    await expect(card).toBeVisible();
    await expect(card).toHaveAttribute('data-paused', 'false');
    await card.getByTestId('pause-reason').fill('browser test');
    await card.getByTestId('pause-button').click();
    await expect(card).toHaveAttribute('data-paused', 'true');
    await expect(card.getByTestId('room-paused')).toHaveText('betting paused');

    // While paused every bet is refused, whatever the phase.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const refused = await expectStatus(await bet(), 409, 'a bet while paused');
      expect(refused.error.code).toBe('betting_paused');
      await page.waitForTimeout(1000);
    }
    await expect(card).toHaveAttribute('data-paused', 'true');
    await snap(page, 'admin-06-room-paused');
    // Players in the room see it too.
    await expect(playerPage.getByTestId('betting-paused')).toBeVisible();
    await expect(playerPage.getByTestId('place-bet')).toBeDisabled();
    await snap(playerPage, 'admin-06b-player-sees-pause');

    await card.getByTestId('resume-button').click();
    await expect(card).toHaveAttribute('data-paused', 'false');
    await expect(playerPage.getByTestId('betting-paused')).toBeHidden();

    // Betting opens again with the next round: wait for it and bet. The round under way finishes first,
    // however long it runs (waitForRoom's budget follows it).
    let placed;
    for (let attempt = 1; attempt <= BET_ATTEMPTS_MAX && !placed; attempt += 1) {
      await waitForBettingPhase(request, PAUSE_ROOM, { what: `a betting phase of ${PAUSE_ROOM} after resuming` });
      const response = await bet();
      const body = await response.json();
      if (response.status() === 200) {
        placed = body;
      } else if (!(body.error && body.error.code === 'betting_closed')) {
        throw new Error(`the bet after resuming answered ${response.status()}: ${JSON.stringify(body)}`);
      }
      // betting_closed: betting closed between the look and the bet; the next round is tried.
    }
    expect(placed, `a bet accepted in ${PAUSE_ROOM} within ${BET_ATTEMPTS_MAX} betting phases`).toBeTruthy();
    expect(placed.bet.status).toMatch(/open|pending/);
    await snap(page, 'admin-07-room-resumed');
    await playerPage.context().close();
  });
});

test('a broadcast from the dashboard reaches the players and is listed as an operator action', async ({ page, request, browser }) => {
  // Topped up: a game opens only for a balance of at least its minimum bet.
  const player = await createPlayer(request);
  const playerPage = await openPlayerPage(browser, player.token, 'aviator');
  const text = `Browser test broadcast ${Date.now()}`;

  await logIn(page);
  await page.getByTestId('broadcast-message').fill(text);
  await page.getByTestId('broadcast-send').click();
  await expect(page.getByTestId('admin-message')).toHaveAttribute('data-kind', 'ok');

  await expect(playerPage.getByTestId('maintenance-banner')).toBeVisible();
  await expect(playerPage.getByTestId('maintenance-text')).toHaveText(text);
  await snap(playerPage, 'admin-08-player-sees-broadcast');
  await expect(page.locator('[data-testid="action-row"]').filter({ hasText: text }).first()).toBeVisible({ timeout: 15000 });
  await snap(page, 'admin-09-broadcast-listed');
  await playerPage.context().close();
});

test('an operator disables and re-enables a game from the catalog section', async ({ page, request }) => {
  // A provider of this test alone with one imported game, so no other spec's games are touched.
  const headers = { Authorization: `Bearer ${await adminToken(request)}` };
  const provider = randomKey('pw-');
  const created = await request.post('/api/v1/admin/providers', {
    headers,
    data: { id: provider, name: 'Browser Test Studio', protocol: 'generic', secret: randomKey('secret-'), currencies: ['USD'] },
  });
  await expectStatus(created, 201, 'provider created');
  const game = {
    code: 'pw-slot', name: 'Browser Test Slot', category: 'slots', rtp_bps: 9600, volatility: 'medium',
    bet_min_micros: 100000, bet_max_micros: 100000000,
  };
  const imported = await request.post(`/api/v1/admin/providers/${provider}/games/import`, { headers, data: { games: [game] } });
  expect((await expectStatus(imported, 200, 'game list imported')).inserted).toBe(1);
  const lobbyTotal = async () => (await expectStatus(await request.get(`/api/v1/games?provider=${provider}`), 200, 'lobby')).total;

  await logIn(page);
  const filter = page.getByTestId('catalog-provider-filter');
  await expect(filter.locator(`option[value="${provider}"]`)).toHaveCount(1);
  await filter.selectOption(provider);
  const row = page.locator(`[data-testid="catalog-game-row"][data-provider="${provider}"][data-code="pw-slot"]`);
  await expect(row).toHaveAttribute('data-active', 'true');
  await expect(row).toContainText('96.00 %');

  await row.getByTestId('game-active-toggle').click();
  await expect(row).toHaveAttribute('data-active', 'false');
  expect(await lobbyTotal(), 'a disabled game leaves the lobby').toBe(0);
  await snap(page, 'admin-10-catalog-game-disabled');

  await row.getByTestId('game-active-toggle').click();
  await expect(row).toHaveAttribute('data-active', 'true');
  expect(await lobbyTotal(), 'an enabled game is back in the lobby').toBe(1);
  await expect(page.locator('[data-testid="action-row"][data-action="update_game"]').first()).toBeVisible({ timeout: 15000 });
});
