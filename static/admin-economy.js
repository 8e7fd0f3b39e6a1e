// The dashboard's economy section: the treasury (the root account, its pools per wallet shard and a form
// that funds the pools from the root), the item catalog (price and active per item, a form that creates
// one) and a player's status (active or blocked) and bonus. It runs beside admin.js with the operator's
// token while the dashboard is shown, and polls on its own.
//
// Each panel speaks to its own endpoint; a server without that endpoint (404) hides the panel.

import {
  api, ApiError, byTestId, el, formatMicros, messageArea, microsToJson, parseUnits, randomId, show, showBalance,
} from './common.js';

const TOKEN_KEY = 'gc.admin.token';
const ADMIN = '/api/v1/admin';
const POLL_INTERVAL_MS = 10000;
/** Items listed at most. */
const ITEMS_SHOWN_MAX = 500;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ui = {
  dashboard: byTestId('dashboard'),
  treasuryPanel: byTestId('treasury-panel'),
  treasuryRoot: byTestId('treasury-root'),
  treasuryPoolsTotal: byTestId('treasury-pools-total'),
  treasuryPools: byTestId('treasury-pools-table').querySelector('tbody'),
  fundForm: byTestId('treasury-fund-form'),
  fundAmount: byTestId('treasury-fund-amount'),
  itemsPanel: byTestId('items-panel'),
  items: byTestId('items-table').querySelector('tbody'),
  itemForm: byTestId('item-form'),
  itemCode: byTestId('item-code'),
  itemName: byTestId('item-name'),
  itemPrice: byTestId('item-price'),
  itemLimit: byTestId('item-limit'),
  playersPanel: byTestId('players-panel'),
  statusForm: byTestId('player-status-form'),
  statusId: byTestId('player-status-id'),
  statusValue: byTestId('player-status-value'),
  bonusForm: byTestId('player-bonus-form'),
  bonusId: byTestId('player-bonus-id'),
  bonusAmount: byTestId('player-bonus-amount'),
  bonusMultiplier: byTestId('player-bonus-multiplier'),
};
const message = messageArea(byTestId('admin-message'));

/** The poll under way while the dashboard is shown; null when it is hidden (logged out). */
let pollTimer = null;
/** Grows at every start and stop, so that the loop of an older session ends. */
let generation = 0;

function adminApi(path, options = {}) {
  return api(`${ADMIN}${path}`, { ...options, token: sessionStorage.getItem(TOKEN_KEY) });
}

/** Shows a failure; admin.js already returns to the log-in form on a 401. */
function failed(error) {
  if (!(error instanceof ApiError && error.status === 401)) message.error(error);
}

/** Runs a panel's load; a server without its endpoint (404) hides the panel instead of failing. */
async function loadPanel(panel, load) {
  try {
    await load();
    show(panel, true);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) show(panel, false);
    else failed(error);
  }
}

function loadAll() {
  return Promise.all([loadPanel(ui.treasuryPanel, loadTreasury), loadPanel(ui.itemsPanel, loadItems)]);
}

async function pollLoop(loopGeneration) {
  await loadAll();
  if (loopGeneration === generation) pollTimer = setTimeout(() => pollLoop(loopGeneration), POLL_INTERVAL_MS);
}

function start() {
  if (pollTimer !== null) return;
  generation += 1;
  const loopGeneration = generation;
  pollTimer = setTimeout(() => pollLoop(loopGeneration), 0);
  // Status and bonus are answered per player: the panel is offered and a 404 is reported when it is used.
  show(ui.playersPanel, true);
}

function stop() {
  if (pollTimer === null) return;
  generation += 1;
  clearTimeout(pollTimer);
  pollTimer = null;
  ui.treasuryPools.replaceChildren();
  ui.items.replaceChildren();
}

// ---------------------------------------------------------------------------------------------------
// Treasury
// ---------------------------------------------------------------------------------------------------

async function loadTreasury() {
  const treasury = await adminApi('/treasury');
  showBalance(ui.treasuryRoot, treasury.root_micros);
  showBalance(ui.treasuryPoolsTotal, treasury.pools_total_micros);
  const pools = treasury.pools || [];
  ui.treasuryPools.replaceChildren(...pools.map((pool) => el('tr', { dataset: { testid: 'treasury-pool-row', shard: String(pool.shard) } },
    el('td', { class: 'num', text: String(pool.shard) }),
    el('td', { class: 'num mono', text: String(pool.account_id) }),
    el('td', { class: 'num', dataset: { testid: 'treasury-pool-balance' }, text: formatMicros(pool.balance_micros) }))));
}

async function fundTreasury(event) {
  event.preventDefault();
  let amount;
  try {
    amount = microsToJson(parseUnits(ui.fundAmount.value));
  } catch (error) {
    message.show(error.message);
    return;
  }
  try {
    await adminApi('/treasury/fund', {
      method: 'POST', body: { amount_micros: amount }, headers: { 'Idempotency-Key': randomId('dash-fund-') },
    });
    message.show(`funded the treasury pools with ${formatMicros(amount)}`, 'ok');
    ui.fundAmount.value = '';
  } catch (error) {
    failed(error);
  }
  loadPanel(ui.treasuryPanel, loadTreasury);
}

// ---------------------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------------------

async function loadItems() {
  const answer = await adminApi('/items');
  const items = (Array.isArray(answer) ? answer : answer.items || []).slice(0, ITEMS_SHOWN_MAX);
  ui.items.replaceChildren(...items.map(itemRow));
  if (items.length === 0) ui.items.append(el('tr', {}, el('td', { colSpan: 5, class: 'muted', text: 'No items yet.' })));
}

function itemRow(item) {
  const price = el('input', {
    class: 'price-input', inputmode: 'decimal', value: formatMicros(item.price_micros).replace(/,/g, ''),
    dataset: { testid: 'item-price-input' }, 'aria-label': `Price of ${item.code}`,
  });
  const savePrice = el('button', { type: 'button', class: 'button-small button-secondary', dataset: { testid: 'item-price-save' }, text: 'Save' });
  savePrice.addEventListener('click', () => setItemPrice(item, price.value));
  const toggle = el('button', {
    type: 'button', class: `button-small ${item.active ? 'button-warn' : 'button-secondary'}`,
    dataset: { testid: 'item-active-toggle' }, text: item.active ? 'Deactivate' : 'Activate',
  });
  toggle.addEventListener('click', () => patchItem(item, { active: !item.active }, item.active ? 'deactivated' : 'activated'));
  return el('tr', { dataset: { testid: 'item-row', code: item.code, active: String(Boolean(item.active)) } },
    el('td', { class: 'mono', text: item.code }),
    el('td', { text: item.name }),
    el('td', { class: 'num' }, el('span', { class: 'row' }, price, savePrice)),
    el('td', { class: 'num', text: item.per_player_limit === null || item.per_player_limit === undefined ? 'none' : String(item.per_player_limit) }),
    el('td', {}, el('span', { class: 'row' },
      el('span', { class: `badge badge-${item.active ? 'ok' : 'bad'}`, text: item.active ? 'active' : 'inactive' }), toggle)));
}

function setItemPrice(item, text) {
  let price;
  try {
    price = microsToJson(parseUnits(text));
  } catch (error) {
    message.show(error.message);
    return;
  }
  patchItem(item, { price_micros: price }, `priced at ${formatMicros(price)}`);
}

async function patchItem(item, body, done) {
  try {
    await adminApi(`/items/${encodeURIComponent(item.code)}`, { method: 'PATCH', body });
    message.show(`item ${item.code} ${done}`, 'ok');
  } catch (error) {
    failed(error);
  }
  loadPanel(ui.itemsPanel, loadItems);
}

/** The per-player limit typed in the form: null for none; throws an Error for the operator. */
function perPlayerLimit(text) {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (!/^\d{1,9}$/.test(trimmed) || Number(trimmed) < 1) throw new Error('the per-player limit is a whole number of at least 1, or empty for none');
  return Number(trimmed);
}

async function createItem(event) {
  event.preventDefault();
  let body;
  try {
    body = {
      code: ui.itemCode.value.trim(),
      name: ui.itemName.value.trim(),
      price_micros: microsToJson(parseUnits(ui.itemPrice.value)),
      per_player_limit: perPlayerLimit(ui.itemLimit.value),
    };
  } catch (error) {
    message.show(error.message);
    return;
  }
  try {
    await adminApi('/items', { method: 'POST', body });
    message.show(`item ${body.code} created`, 'ok');
    ui.itemForm.reset();
  } catch (error) {
    failed(error);
  }
  loadPanel(ui.itemsPanel, loadItems);
}

// ---------------------------------------------------------------------------------------------------
// A player: status and bonus
// ---------------------------------------------------------------------------------------------------

function playerId(input) {
  const id = input.value.trim();
  if (!UUID_PATTERN.test(id)) throw new Error('enter the player id (a UUID)');
  return id;
}

async function setPlayerStatus(event) {
  event.preventDefault();
  let id;
  try {
    id = playerId(ui.statusId);
  } catch (error) {
    message.show(error.message);
    return;
  }
  const status = ui.statusValue.value;
  try {
    await adminApi(`/players/${encodeURIComponent(id)}/status`, { method: 'POST', body: { status } });
    message.show(`player ${id} is now ${status}`, 'ok');
  } catch (error) {
    failed(error);
  }
}

async function grantBonus(event) {
  event.preventDefault();
  let id;
  let body;
  try {
    id = playerId(ui.bonusId);
    body = { amount_micros: microsToJson(parseUnits(ui.bonusAmount.value)) };
    const multiplier = ui.bonusMultiplier.value.trim();
    if (multiplier !== '') {
      if (!/^\d{1,4}$/.test(multiplier)) throw new Error('the wagering multiplier is a whole number, or empty for the default');
      body.wagering_multiplier = Number(multiplier);
    }
  } catch (error) {
    message.show(error.message);
    return;
  }
  try {
    await adminApi(`/players/${encodeURIComponent(id)}/bonus`, {
      method: 'POST', body, headers: { 'Idempotency-Key': randomId('dash-bonus-') },
    });
    message.show(`granted ${formatMicros(body.amount_micros)} of bonus to ${id}`, 'ok');
    ui.bonusForm.reset();
  } catch (error) {
    failed(error);
  }
  loadPanel(ui.treasuryPanel, loadTreasury);
}

// ---------------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------------

ui.fundForm.addEventListener('submit', fundTreasury);
ui.itemForm.addEventListener('submit', createItem);
ui.statusForm.addEventListener('submit', setPlayerStatus);
ui.bonusForm.addEventListener('submit', grantBonus);

// admin.js shows the dashboard after the log-in and hides it at log-out.
function followDashboard() {
  if (ui.dashboard.classList.contains('hidden')) stop();
  else start();
}
new MutationObserver(followDashboard).observe(ui.dashboard, { attributes: true, attributeFilter: ['class'] });
followDashboard();
