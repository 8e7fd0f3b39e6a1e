// The player economy and responsible gaming on the player page and the dashboard: the Account view shows
// the balance split and the referral code; a limit set there shows in its table, and a bet that would
// cross it is refused under the form that placed it; an item created through the admin API is sold in
// the shop and a purchase shows in the inventory; a self-exclusion asks first, then logs out; the
// reality-check reminder shows the time played and the net result, and its buttons work; the dashboard's
// Economy section shows the treasury and creates and toggles items.
//
// The end-to-end reality check needs a cluster whose reminder comes quickly: start it with
// APP__RESPONSIBLE_GAMING__REALITY_CHECK_INTERVAL_S=5 and run the tests with REALITY_CHECK_INTERVAL_S=5
// (scripts/browser-test.sh passes it on); without it that one test is skipped. Run only this spec against
// such a cluster: in the others the reminder's dialog would cover the buttons they click.
const { test, expect } = require('@playwright/test');
const {
  MICROS_PER_UNIT, PASSWORD, adminToken, createPlayer, expectStatus, randomKey, snap, watchProblems,
} = require('./helpers');

const FUNDS = 100n * MICROS_PER_UNIT;
const STAKE = 1n * MICROS_PER_UNIT;
const REALITY_CHECK_INTERVAL_S = Number(process.env.REALITY_CHECK_INTERVAL_S || 0);
/** The end-to-end reminder is only waited for when it comes within this (a few intervals at most). */
const REALITY_CHECK_INTERVAL_MAX_S = 30;

function auth(token) {
  return { Authorization: `Bearer ${token}` };
}

/** The player page logged in with `token`, on the lobby. */
async function openPage(page, token) {
  await page.addInitScript((savedToken) => sessionStorage.setItem('gc.player.token', savedToken), token);
  await page.goto('/');
  await expect(page.getByTestId('lobby-section')).toBeVisible();
  await expect(page.getByTestId('balance')).toHaveAttribute('data-micros', /^\d+$/);
}

async function openAccount(page) {
  await page.getByTestId('account-link').click();
  await expect(page.getByTestId('account-section')).toBeVisible();
  await expect(page.getByTestId('view-title')).toHaveText('Your account');
}

/** Opens Dice from its lobby card (back in the lobby first) and rolls `amountText` over 50. */
async function rollDice(page, amountText) {
  if (!(await page.getByTestId('lobby-section').isVisible())) await page.getByTestId('back-to-lobby').click();
  await page.locator('[data-testid="game-card"][data-provider="house"][data-code="dice"]').click();
  await expect(page.getByTestId('dice-section')).toBeVisible();
  await page.getByTestId('dice-amount').fill(amountText);
  await page.getByTestId('dice-target').fill('50.00');
  await page.getByTestId('dice-roll-button').click();
}

/** Creates an active item through the admin API and returns its code. */
async function createItem(request, admin, priceMicros) {
  const code = `pw_item_${randomKey('').slice(0, 10)}`;
  const created = await request.post('/api/v1/admin/items', {
    headers: auth(admin),
    data: { code, name: `Hat ${code}`, price_micros: Number(priceMicros), per_player_limit: null },
  });
  expect([200, 201], `create an item: ${await created.text()}`).toContain(created.status());
  return code;
}

test('the account view shows the balance split and the referral code', async ({ page, request }) => {
  const problems = watchProblems(page);
  const player = await createPlayer(request, { topUpMicros: FUNDS });
  await openPage(page, player.token);
  await openAccount(page);

  await expect(page.getByTestId('account-total')).toHaveAttribute('data-micros', String(FUNDS));
  await expect(page.getByTestId('account-cash')).toHaveAttribute('data-micros', String(FUNDS));
  await expect(page.getByTestId('account-bonus')).toHaveAttribute('data-micros', '0');
  const me = await expectStatus(await request.get('/api/v1/me', { headers: auth(player.token) }), 200, 'me');
  expect(me.referral_code, 'every player has a referral code').toMatch(/^[A-Z0-9]{4,32}$/);
  await expect(page.getByTestId('referral-panel')).toBeVisible();
  await expect(page.getByTestId('referral-code')).toHaveText(me.referral_code);
  await snap(page, 'economy-01-account');
  expect(problems).toEqual([]);
});

test('a limit set in the account view shows in its table and refuses a bet that would cross it', async ({ page, request }) => {
  const problems = watchProblems(page);
  const player = await createPlayer(request, { topUpMicros: FUNDS });
  await openPage(page, player.token);
  await openAccount(page);
  await expect(page.getByTestId('limits-panel')).toBeVisible();

  // A new limit where there was none applies at once.
  await page.getByTestId('limit-kind').selectOption('wager');
  await page.getByTestId('limit-period').selectOption('day');
  await page.getByTestId('limit-amount').fill('1.50');
  await page.getByTestId('limit-submit').click();
  const row = page.locator('[data-testid="limit-row"][data-kind="wager"][data-period="day"]');
  await expect(row.getByTestId('limit-current')).toHaveText('1.50');
  await expect(row.getByTestId('limit-used')).toHaveText('0.00');
  await snap(page, 'economy-02-limit-set');

  // 1.00 fits the limit, the next 1.00 would cross it: refused, and said so under the dice form.
  await rollDice(page, '1.00');
  await expect(page.getByTestId('dice-roll')).toHaveAttribute('data-state', /won|lost/);
  await page.getByTestId('dice-roll-button').click();
  const refusal = page.getByTestId('dice-refusal');
  await expect(refusal).toBeVisible();
  await expect(refusal).toHaveAttribute('data-code', 'wager_limit_reached');
  await expect(refusal).toContainText('Wager limit reached');
  await expect(page.getByTestId('message')).toContainText('wager_limit_reached');
  await snap(page, 'economy-03-limit-refusal');

  await page.getByTestId('account-link').click();
  await expect(row.getByTestId('limit-used')).toHaveText('1.00');
  expect(problems).toEqual([]);
});

test('an item created by the operators is sold in the shop and a purchase shows in the inventory', async ({ page, request }) => {
  const problems = watchProblems(page);
  const admin = await adminToken(request);
  const price = 2n * MICROS_PER_UNIT;
  const code = await createItem(request, admin, price);
  const player = await createPlayer(request, { topUpMicros: FUNDS });
  await openPage(page, player.token);
  await openAccount(page);

  const shopRow = page.locator(`[data-testid="shop-row"][data-code="${code}"]`);
  await expect(shopRow).toBeVisible();
  await shopRow.getByTestId('shop-quantity').fill('3');
  await shopRow.getByTestId('shop-buy').click();
  const inventoryRow = page.locator(`[data-testid="inventory-row"][data-item="${code}"]`);
  await expect(inventoryRow.getByTestId('inventory-quantity')).toHaveText('3');
  await expect(page.getByTestId('balance')).toHaveAttribute('data-micros', String(FUNDS - 3n * price));

  // Each click is a purchase of its own (a new Idempotency-Key): a second one adds to the inventory.
  await shopRow.getByTestId('shop-quantity').fill('1');
  await shopRow.getByTestId('shop-buy').click();
  await expect(inventoryRow.getByTestId('inventory-quantity')).toHaveText('4');
  const inventory = await expectStatus(await request.get('/api/v1/inventory', { headers: auth(player.token) }), 200, 'inventory');
  expect(inventory.items.find((entry) => entry.item === code).quantity).toBe(4);
  await snap(page, 'economy-04-shop');
  expect(problems).toEqual([]);
});

test('a self-exclusion asks for confirmation, then logs the player out', async ({ page, request }) => {
  const problems = watchProblems(page);
  const player = await createPlayer(request, { topUpMicros: 0n });
  await openPage(page, player.token);
  await openAccount(page);
  await expect(page.getByTestId('self-exclusion-panel')).toBeVisible();

  await page.getByTestId('self-exclusion-days').fill('7');
  await page.getByTestId('self-exclusion-submit').click();
  await expect(page.getByTestId('self-exclusion-confirm')).toBeVisible();
  await expect(page.getByTestId('self-exclusion-confirm-text')).toContainText('7 days');
  // Cancel changes nothing.
  await page.getByTestId('self-exclusion-cancel').click();
  await expect(page.getByTestId('self-exclusion-confirm')).toBeHidden();
  const still = await expectStatus(await request.get('/api/v1/me', { headers: auth(player.token) }), 200, 'me');
  expect(still.status).toBe('active');

  await page.getByTestId('self-exclusion-submit').click();
  await page.getByTestId('self-exclusion-yes').click();
  await expect(page.getByTestId('auth-section')).toBeVisible();
  await expect(page.getByTestId('message')).toContainText('excluded yourself');
  const login = await request.post('/api/v1/auth/login', { data: { username: player.username, password: PASSWORD } });
  expect(login.status()).toBe(403);
  await snap(page, 'economy-05-self-excluded');
  expect(problems).toEqual([]);
});

test('the reality-check reminder shows the time played and the net result, and its buttons work', async ({ page, request }) => {
  const problems = watchProblems(page);
  const player = await createPlayer(request, { topUpMicros: 0n });
  await openPage(page, player.token);
  const modal = page.getByTestId('reality-check');
  await expect(modal).toBeHidden();

  // The message as the socket delivers it (play.js passes it on as gc:reality-check).
  const remind = (check) => page.evaluate((detail) => window.dispatchEvent(new CustomEvent('gc:reality-check', { detail })), check);
  await remind({ type: 'reality_check', played_seconds: 3725, staked_micros: 12500000, net_micros: -2250000, interval_seconds: 3600 });
  await expect(modal).toBeVisible();
  await expect(page.getByTestId('reality-played')).toHaveText('1h 2m');
  await expect(page.getByTestId('reality-staked')).toHaveText('12.50');
  await expect(page.getByTestId('reality-net')).toHaveText('a loss of 2.25');
  await snap(page, 'economy-06-reality-check');
  await page.getByTestId('reality-continue').click();
  await expect(modal).toBeHidden();
  await expect(page.getByTestId('lobby-section')).toBeVisible();

  await remind({ type: 'reality_check', played_seconds: 30, staked_micros: 1000000, net_micros: 980000, interval_seconds: 30 });
  await expect(page.getByTestId('reality-net')).toHaveText('a win of 0.98');
  await page.getByTestId('reality-logout').click();
  await expect(modal).toBeHidden();
  await expect(page.getByTestId('auth-section')).toBeVisible();
  expect(problems).toEqual([]);
});

test('a player who bets gets the reality check from the server', async ({ page, request }) => {
  test.skip(!(REALITY_CHECK_INTERVAL_S > 0 && REALITY_CHECK_INTERVAL_S <= REALITY_CHECK_INTERVAL_MAX_S),
    `set REALITY_CHECK_INTERVAL_S (1 to ${REALITY_CHECK_INTERVAL_MAX_S}) to the interval the cluster was started with`);
  const problems = watchProblems(page);
  const player = await createPlayer(request, { topUpMicros: FUNDS });
  await openPage(page, player.token);
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected');

  await rollDice(page, '1.00');
  const roll = page.getByTestId('dice-roll');
  await expect(roll).toHaveAttribute('data-state', /won|lost/);
  const payout = BigInt(await roll.getAttribute('data-payout'));
  const modal = page.getByTestId('reality-check');
  // The stake and the win are posted apart: a reminder between them shows the stake alone; the next
  // one, an interval later, shows both.
  await expect(async () => {
    if (!(await modal.isVisible())) throw new Error('no reminder yet');
    const net = await modal.getAttribute('data-net');
    if (net !== String(payout - STAKE)) {
      await page.getByTestId('reality-continue').click();
      throw new Error(`a reminder with net ${net} before the win`);
    }
  }).toPass({ timeout: (3 * REALITY_CHECK_INTERVAL_S + 10) * 1000 });
  await expect(page.getByTestId('reality-staked')).toHaveText('1.00');
  expect(Number(await modal.getAttribute('data-played'))).toBeGreaterThanOrEqual(REALITY_CHECK_INTERVAL_S);
  await snap(page, 'economy-07-reality-check-live');
  await page.getByTestId('reality-continue').click();
  await expect(modal).toBeHidden();
  expect(problems).toEqual([]);
});

test('the dashboard shows the treasury, creates an item and toggles it', async ({ page, request }) => {
  const problems = watchProblems(page);
  await page.goto('/admin');
  await page.getByTestId('admin-username').fill(process.env.ADMIN_USERNAME);
  await page.getByTestId('admin-password').fill(process.env.ADMIN_PASSWORD);
  await page.getByTestId('admin-login-button').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  await expect(page.getByTestId('economy')).toBeVisible();

  const admin = await adminToken(request);
  const treasury = await expectStatus(await request.get('/api/v1/admin/treasury', { headers: auth(admin) }), 200, 'treasury');
  await expect(page.getByTestId('treasury-panel')).toBeVisible();
  await expect(page.locator('[data-testid="treasury-pool-row"]')).toHaveCount(treasury.pools.length);

  // Funding spreads the amount over the pools.
  await page.getByTestId('treasury-fund-amount').fill('40.00');
  await page.getByTestId('treasury-fund-submit').click();
  await expect(page.getByTestId('admin-message')).toContainText('funded the treasury pools');
  const funded = await expectStatus(await request.get('/api/v1/admin/treasury', { headers: auth(admin) }), 200, 'treasury');
  expect(BigInt(funded.pools_total_micros)).toBeGreaterThanOrEqual(BigInt(treasury.pools_total_micros) + 40n * MICROS_PER_UNIT);

  const code = `pw_dash_${randomKey('').slice(0, 10)}`;
  await page.getByTestId('item-code').fill(code);
  await page.getByTestId('item-name').fill('Dashboard hat');
  await page.getByTestId('item-price').fill('3.25');
  await page.getByTestId('item-create').click();
  const row = page.locator(`[data-testid="item-row"][data-code="${code}"]`);
  await expect(row).toHaveAttribute('data-active', 'true');
  await row.getByTestId('item-active-toggle').click();
  await expect(row).toHaveAttribute('data-active', 'false');
  const items = await expectStatus(await request.get('/api/v1/admin/items', { headers: auth(admin) }), 200, 'items');
  const item = (items.items || items).find((entry) => entry.code === code);
  expect(item.price_micros).toBe(3250000);
  expect(item.active).toBe(false);
  await snap(page, 'economy-08-dashboard');
  expect(problems).toEqual([]);
});
