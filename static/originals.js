// What the views of Dice, Plinko and Mines (dice.js, plinko.js, mines.js) and the verify view share: the
// player's token, placing a bet with its Idempotency-Key, the balance in the top bar, the stake input,
// and the fairness facts of a bet with the link that verifies it. Money stays in integer micro-units.

import {
  api, ApiError, byTestId, clearRefusals, el, formatBps, formatMicros, messageArea, microsToJson, parseUnits, randomId,
  showBalance,
} from './common.js';

const TOKEN_KEY = 'gc.player.token';

export const message = messageArea(byTestId('message'));
const balanceElement = byTestId('balance');
const logoutButton = byTestId('logout');

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** An API call with the player's token. */
export function authed(path, options = {}) {
  return api(path, { ...options, token: token() });
}

export function setBalance(value) {
  showBalance(balanceElement, value);
}

/** Calls `reset` whenever the player logs out (play.js hides the game section), so the next starts afresh. */
export function onLogout(reset) {
  const section = byTestId('game-section');
  new MutationObserver(() => {
    if (section.classList.contains('hidden')) reset();
  }).observe(section, { attributes: true, attributeFilter: ['class'] });
}

/** Shows an API failure; an expired or unknown token logs the player out. */
export function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    logoutButton.click();
    message.show(`please log in again: ${error.message}`, 'error');
    return;
  }
  message.error(error);
}

/**
 * Places a bet: POST `path` with `body` and a new Idempotency-Key. A request that got no answer (a
 * timeout, a dropped connection) is sent once more with the same key, so it can never be paid twice.
 * Returns the answer {bet, balance, replayed} and shows the new balance.
 */
export async function placeBet(path, body) {
  const headers = { 'Idempotency-Key': randomId('web-') };
  clearRefusals();
  let answer;
  try {
    answer = await authed(path, { method: 'POST', body, headers });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 0) throw error;
    answer = await authed(path, { method: 'POST', body, headers });
  }
  setBalance(answer.balance);
  return answer;
}

/** A stake typed in units, as the integer micro-units the API takes; throws an Error for the player. */
export function stakeOf(input) {
  return microsToJson(parseUnits(input.value));
}

/** "Bet 0.10 – 1,000.00 · RTP 99.00 %" for a catalog game, or nothing when the view was opened without one. */
export function limitsText(game) {
  if (!game) return '';
  return `Bet ${formatMicros(game.bet_min_micros)} – ${formatMicros(game.bet_max_micros)} · RTP ${formatBps(game.rtp_bps)}`;
}

function fact(term, value, testid) {
  return [el('dt', { text: term }), el('dd', { class: 'mono', dataset: { testid }, title: value, text: value })];
}

/**
 * Fills `container` with a bet's fairness facts (the committed server seed hash, the client seed, the
 * nonce; the server seed itself once revealed) and a link to the view that verifies it.
 */
export function renderFairness(container, bet) {
  if (!bet || !bet.fairness) {
    container.replaceChildren();
    container.dataset.betId = '';
    return;
  }
  const fairness = bet.fairness;
  container.dataset.betId = bet.id;
  container.dataset.nonce = String(fairness.nonce);
  container.replaceChildren(
    el('dl', { class: 'kv fairness-facts' },
      fact('Server seed hash', fairness.server_seed_hash, 'fair-server-seed-hash'),
      fact('Client seed', fairness.client_seed, 'fair-client-seed'),
      fact('Nonce', String(fairness.nonce), 'fair-nonce'),
      fact('Server seed', fairness.server_seed || 'secret until you rotate your seeds', 'fair-server-seed')),
    el('a', { href: `#/verify/${encodeURIComponent(bet.id)}`, class: 'fairness-verify', dataset: { testid: 'fair-verify-link' }, text: 'Verify this bet' }),
  );
}

/** "won 1.98 on 1.00" or "lost 1.00" for a settled bet. */
export function outcomeText(bet) {
  const payout = BigInt(bet.payout ?? 0);
  return payout > 0n
    ? `paid ${formatMicros(payout)} on ${formatMicros(bet.amount)}`
    : `lost ${formatMicros(bet.amount)}`;
}
