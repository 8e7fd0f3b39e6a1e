// The player's account view (`#/account`, from the header's Account link): the balance split into cash and
// bonus with the bonus's wagering progress, the referral code and the claim of a friend's code, the
// player's limits and self-exclusion, the item shop and the inventory. Also the reality-check reminder,
// whatever the view: play.js passes each `reality_check` message of the socket on as `gc:reality-check`.
//
// Each panel speaks to its own endpoint; a server without that endpoint (404) hides the panel, so the page
// works against any node version. Money stays in integer micro-units and is only formatted for display.

import {
  ApiError, byTestId, clearRefusals, el, formatDuration, formatMicros, microsToJson, parseUnits, randomId, show, showBalance,
  toMicros,
} from './common.js';
import { authed, failed, message, onLogout, setBalance } from './originals.js';

/** The most items of one kind a purchase asks for (the server has its own limit and says so). */
const PURCHASE_QUANTITY_MAX = 100;
/** The longest self-exclusion a player may choose, in days (about ten years). */
const SELF_EXCLUSION_DAYS_MAX = 3650;
/** The longest session limit the form accepts, in minutes (a day). */
const SESSION_LIMIT_MINUTES_MAX = 1440;
/** Items and inventory rows shown at most. */
const SHOP_ROWS_MAX = 200;
/** Wagering progress in thousandths, so the bar moves smoothly without floats. */
const PROGRESS_STEPS = 1000n;

const KIND_NAMES = { deposit: 'Deposit', loss: 'Loss', wager: 'Wager', session: 'Session time' };
const PERIOD_NAMES = { day: 'per day', week: 'per week', month: 'per month', session: 'per session' };

const ui = {
  refresh: byTestId('account-refresh'),
  total: byTestId('account-total'),
  cash: byTestId('account-cash'),
  bonus: byTestId('account-bonus'),
  wagering: byTestId('wagering'),
  wageringProgress: byTestId('wagering-progress'),
  wageringText: byTestId('wagering-text'),
  referralPanel: byTestId('referral-panel'),
  referralCode: byTestId('referral-code'),
  referralCopy: byTestId('referral-copy'),
  claimForm: byTestId('referral-claim-form'),
  claimCode: byTestId('referral-claim-code'),
  referralStatus: byTestId('referral-status'),
  limitsPanel: byTestId('limits-panel'),
  limits: byTestId('limits-table').querySelector('tbody'),
  limitsNote: byTestId('limits-note'),
  limitForm: byTestId('limit-form'),
  limitKind: byTestId('limit-kind'),
  limitPeriodLabel: byTestId('limit-period-label'),
  limitPeriod: byTestId('limit-period'),
  limitAmountLabel: byTestId('limit-amount-label'),
  limitAmount: byTestId('limit-amount'),
  shopPanel: byTestId('shop-panel'),
  shop: byTestId('shop-table').querySelector('tbody'),
  inventoryPanel: byTestId('inventory-panel'),
  inventory: byTestId('inventory-table').querySelector('tbody'),
  exclusionPanel: byTestId('self-exclusion-panel'),
  exclusionForm: byTestId('self-exclusion-form'),
  exclusionDays: byTestId('self-exclusion-days'),
  exclusionConfirm: byTestId('self-exclusion-confirm'),
  exclusionConfirmText: byTestId('self-exclusion-confirm-text'),
  exclusionYes: byTestId('self-exclusion-yes'),
  exclusionCancel: byTestId('self-exclusion-cancel'),
  logout: byTestId('logout'),
  reality: byTestId('reality-check'),
  realityPlayed: byTestId('reality-played'),
  realityStaked: byTestId('reality-staked'),
  realityNet: byTestId('reality-net'),
  realityInterval: byTestId('reality-interval'),
  realityContinue: byTestId('reality-continue'),
  realityLogout: byTestId('reality-logout'),
};

/** The days of a self-exclusion waiting for the player's confirmation, or null. */
let pendingExclusionDays = null;

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
  loadBalance();
  loadPanel(ui.referralPanel, loadReferral);
  // Self-exclusion comes with the limits: a server that has one has the other.
  loadPanel(ui.limitsPanel, loadLimits).then(() => show(ui.exclusionPanel, !ui.limitsPanel.classList.contains('hidden')));
  loadPanel(ui.shopPanel, loadShop);
  loadPanel(ui.inventoryPanel, loadInventory);
}

// ---------------------------------------------------------------------------------------------------
// Balance and referral
// ---------------------------------------------------------------------------------------------------

async function loadBalance() {
  try {
    const answer = await authed('/api/v1/wallet/balance');
    setBalance(answer.balance);
    showBalance(ui.total, answer.balance);
    // A server without bonus money has only cash.
    showBalance(ui.cash, answer.cash_micros ?? answer.balance);
    showBalance(ui.bonus, answer.bonus_micros ?? 0);
    renderWagering(answer.wagering || null);
  } catch (error) {
    failed(error);
  }
}

function renderWagering(wagering) {
  const required = wagering && toMicros(wagering.required_micros);
  const wagered = wagering && toMicros(wagering.wagered_micros);
  show(ui.wagering, Boolean(required && required > 0n && wagered !== null));
  if (!required || required <= 0n || wagered === null) return;
  const clamped = wagered > required ? required : wagered;
  ui.wageringProgress.max = Number(PROGRESS_STEPS);
  // Rounds down: the bar never shows the requirement met before it is.
  ui.wageringProgress.value = Number((clamped * PROGRESS_STEPS) / required);
  ui.wagering.dataset.wagered = String(wagered);
  ui.wagering.dataset.required = String(required);
  ui.wageringText.textContent = `wagered ${formatMicros(wagered)} of ${formatMicros(required)}; `
    + `${formatMicros(wagering.remaining_micros)} to go before the bonus becomes cash`;
}

async function loadReferral() {
  const me = await authed('/api/v1/me');
  if (!me.referral_code) throw new ApiError(404, 'not_found', 'this server has no referral codes');
  ui.referralCode.textContent = me.referral_code;
  ui.referralPanel.dataset.code = me.referral_code;
}

async function copyReferralCode() {
  const code = ui.referralCode.textContent;
  try {
    await navigator.clipboard.writeText(code);
    message.show(`copied your referral code ${code}`, 'ok');
  } catch {
    // No clipboard outside a secure context: the code is selected for the player to copy.
    window.getSelection().selectAllChildren(ui.referralCode);
    message.show('press Ctrl+C (or Cmd+C) to copy the selected code', 'info');
  }
}

async function claimReferral(event) {
  event.preventDefault();
  const code = ui.claimCode.value.trim();
  if (!code) return;
  try {
    const answer = await authed('/api/v1/referrals/claim', { method: 'POST', body: { code } });
    const referral = answer.referral || {};
    ui.referralStatus.textContent = `code ${referral.code || code}: ${referral.status || 'claimed'}`;
    ui.claimCode.value = '';
    message.show('referral claimed', 'ok');
    loadBalance();
  } catch (error) {
    failed(error);
  }
}

// ---------------------------------------------------------------------------------------------------
// Limits and self-exclusion
// ---------------------------------------------------------------------------------------------------

async function loadLimits() {
  const answer = await authed('/api/v1/limits');
  const rows = (answer.limits || []).map(moneyLimitRow);
  if (answer.session) rows.push(sessionLimitRow(answer.session));
  ui.limits.replaceChildren(...rows);
  if (answer.cooling_off_hours !== undefined) {
    ui.limitsNote.textContent = 'Lowering a limit applies at once; raising or removing one waits '
      + `${answer.cooling_off_hours} hours.`;
  }
}

function pendingText(pending, format) {
  if (!pending) return '–';
  const when = new Date(pending.effective_at).toLocaleString();
  return `${format(pending)} from ${when}`;
}

function limitRow(kind, period, current, used, pending) {
  return el('tr', { dataset: { testid: 'limit-row', kind, period } },
    el('td', { text: KIND_NAMES[kind] || kind }),
    el('td', { text: PERIOD_NAMES[period] || period }),
    el('td', { class: 'num', dataset: { testid: 'limit-current' }, text: current }),
    el('td', { class: 'num', dataset: { testid: 'limit-used' }, text: used }),
    el('td', { dataset: { testid: 'limit-pending' }, text: pending }));
}

function moneyText(micros) {
  return micros === null || micros === undefined ? 'none' : formatMicros(micros);
}

function moneyLimitRow(limit) {
  const pending = pendingText(limit.pending, (next) => moneyText(next.amount_micros));
  return limitRow(limit.kind, limit.period, moneyText(limit.amount_micros), formatMicros(limit.used_micros), pending);
}

function minutesText(minutes) {
  return minutes === null || minutes === undefined ? 'none' : `${minutes} min`;
}

function sessionLimitRow(session) {
  const pending = pendingText(session.pending, (next) => minutesText(next.limit_minutes ?? next.minutes));
  return limitRow('session', 'session', minutesText(session.limit_minutes), `${session.used_minutes ?? 0} min`, pending);
}

function syncLimitForm() {
  const session = ui.limitKind.value === 'session';
  show(ui.limitPeriodLabel, !session);
  ui.limitAmountLabel.textContent = session ? 'Minutes' : 'Amount';
}

/** The PUT body of the limit form; throws an Error for the player when the value is not valid. */
function limitRequest() {
  const kind = ui.limitKind.value;
  const text = ui.limitAmount.value.trim();
  if (kind === 'session') {
    if (text === '') return { kind, minutes: null };
    if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > SESSION_LIMIT_MINUTES_MAX) {
      throw new Error(`enter the session limit in whole minutes, 1 to ${SESSION_LIMIT_MINUTES_MAX}, or nothing for none`);
    }
    return { kind, minutes: Number(text) };
  }
  const amount = text === '' ? null : microsToJson(parseUnits(text));
  return { kind, period: ui.limitPeriod.value, amount_micros: amount };
}

async function setLimit(event) {
  event.preventDefault();
  let body;
  try {
    body = limitRequest();
  } catch (error) {
    message.show(error.message);
    return;
  }
  try {
    await authed('/api/v1/limits', { method: 'PUT', body });
    message.show('limit saved', 'ok');
    ui.limitAmount.value = '';
    await loadPanel(ui.limitsPanel, loadLimits);
  } catch (error) {
    failed(error);
  }
}

function askToExclude(event) {
  event.preventDefault();
  const text = ui.exclusionDays.value.trim();
  const days = /^\d{1,4}$/.test(text) ? Number(text) : 0;
  if (days < 1 || days > SELF_EXCLUSION_DAYS_MAX) {
    message.show(`enter a number of days from 1 to ${SELF_EXCLUSION_DAYS_MAX}`);
    return;
  }
  pendingExclusionDays = days;
  const until = new Date(Date.now() + days * 86400000).toLocaleDateString();
  ui.exclusionConfirmText.textContent = `You will not be able to log in, play, buy or deposit for ${days} `
    + `day${days === 1 ? '' : 's'} (until about ${until}). This cannot be shortened. Are you sure?`;
  show(ui.exclusionConfirm, true);
  show(ui.exclusionForm, false);
}

function cancelExclusion() {
  pendingExclusionDays = null;
  show(ui.exclusionConfirm, false);
  show(ui.exclusionForm, true);
}

async function confirmExclusion() {
  const days = pendingExclusionDays;
  if (days === null) return;
  ui.exclusionYes.disabled = true;
  try {
    const answer = await authed('/api/v1/self-exclusion', { method: 'POST', body: { days } });
    cancelExclusion();
    ui.logout.click();
    const until = answer && answer.until ? new Date(answer.until).toLocaleString() : `${days} days from now`;
    message.show(`You have excluded yourself from play until ${until}. Take care.`, 'info');
  } catch (error) {
    failed(error);
  } finally {
    ui.exclusionYes.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Shop and inventory
// ---------------------------------------------------------------------------------------------------

function itemsOf(answer) {
  const items = Array.isArray(answer) ? answer : (answer && answer.items) || [];
  return items.slice(0, SHOP_ROWS_MAX);
}

function priceOf(item) {
  return item.price_micros ?? item.unit_price_micros ?? item.price;
}

async function loadShop() {
  const items = itemsOf(await authed('/api/v1/items'));
  ui.shop.replaceChildren(...items.map(shopRow));
  if (items.length === 0) ui.shop.append(el('tr', {}, el('td', { colSpan: 4, class: 'muted', text: 'Nothing for sale right now.' })));
}

function shopRow(item) {
  const quantity = el('input', {
    type: 'number', min: '1', max: String(PURCHASE_QUANTITY_MAX), value: '1', inputmode: 'numeric',
    class: 'quantity-input', dataset: { testid: 'shop-quantity' }, 'aria-label': `Quantity of ${item.name}`,
  });
  const buy = el('button', { type: 'button', class: 'button-small', dataset: { testid: 'shop-buy' }, text: 'Buy' });
  buy.addEventListener('click', () => purchase(item, quantity, buy));
  return el('tr', { dataset: { testid: 'shop-row', code: item.code } },
    el('td', { text: item.name || item.code }),
    el('td', { class: 'num', text: formatMicros(priceOf(item)) }),
    el('td', {}, quantity),
    el('td', {}, buy));
}

/**
 * Buys `quantity` of `item` with a new Idempotency-Key for this click. A request that got no answer is
 * sent once more with the same key, so a purchase is never made twice.
 */
async function purchase(item, quantityInput, button) {
  const text = quantityInput.value.trim();
  const quantity = /^\d{1,3}$/.test(text) ? Number(text) : 0;
  if (quantity < 1 || quantity > PURCHASE_QUANTITY_MAX) {
    message.show(`enter a quantity from 1 to ${PURCHASE_QUANTITY_MAX}`);
    return;
  }
  const request = { method: 'POST', body: { item: item.code, quantity }, headers: { 'Idempotency-Key': randomId('web-buy-') } };
  button.disabled = true;
  try {
    let answer;
    try {
      answer = await authed('/api/v1/purchase', request);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 0) throw error;
      answer = await authed('/api/v1/purchase', request);
    }
    setBalance(answer.balance_micros);
    const bought = answer.purchase || {};
    message.show(`bought ${bought.quantity ?? quantity} × ${item.name || item.code} for ${formatMicros(bought.total_micros)}`, 'ok');
    loadBalance();
    loadPanel(ui.inventoryPanel, loadInventory);
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
  }
}

async function loadInventory() {
  const items = itemsOf(await authed('/api/v1/inventory'));
  ui.inventory.replaceChildren(...items.map((entry) => el('tr', { dataset: { testid: 'inventory-row', item: entry.item } },
    el('td', { text: entry.name || entry.item }),
    el('td', { class: 'num', dataset: { testid: 'inventory-quantity' }, text: String(entry.quantity) }))));
  if (items.length === 0) ui.inventory.append(el('tr', {}, el('td', { colSpan: 2, class: 'muted', text: 'No items yet.' })));
}

// ---------------------------------------------------------------------------------------------------
// The reality check
// ---------------------------------------------------------------------------------------------------

function showRealityCheck(check) {
  const net = toMicros(check.net_micros) ?? 0n;
  ui.realityPlayed.textContent = formatDuration(Number(check.played_seconds) * 1000);
  ui.realityStaked.textContent = formatMicros(check.staked_micros);
  ui.realityNet.textContent = net < 0n ? `a loss of ${formatMicros(-net)}` : `a win of ${formatMicros(net)}`;
  ui.realityNet.className = net < 0n ? 'negative' : 'positive';
  ui.realityInterval.textContent = `This reminder comes every ${formatDuration(Number(check.interval_seconds) * 1000)} of play.`;
  ui.reality.dataset.played = String(check.played_seconds);
  ui.reality.dataset.net = String(net);
  show(ui.reality, true);
  ui.realityContinue.focus();
}

function closeRealityCheck() {
  show(ui.reality, false);
}

// ---------------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------------

ui.refresh.addEventListener('click', loadAll);
ui.referralCopy.addEventListener('click', copyReferralCode);
ui.claimForm.addEventListener('submit', claimReferral);
ui.limitKind.addEventListener('change', syncLimitForm);
ui.limitForm.addEventListener('submit', setLimit);
ui.exclusionForm.addEventListener('submit', askToExclude);
ui.exclusionCancel.addEventListener('click', cancelExclusion);
ui.exclusionYes.addEventListener('click', confirmExclusion);
ui.realityContinue.addEventListener('click', closeRealityCheck);
ui.realityLogout.addEventListener('click', () => {
  closeRealityCheck();
  ui.logout.click();
});
window.addEventListener('gc:reality-check', (event) => showRealityCheck(event.detail));
window.addEventListener('gc:view', (event) => {
  // A refusal belongs to the bet it answered: another view, or the same one opened again, starts clean.
  clearRefusals();
  if (event.detail.view === 'account') loadAll();
});
onLogout(() => {
  clearRefusals();
  closeRealityCheck();
  cancelExclusion();
  ui.referralStatus.textContent = '';
});
syncLimitForm();
