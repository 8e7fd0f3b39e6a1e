// The verify view (`#/verify/{bet_id}`) of a Dice, Plinko or Mines bet: the bet with its fairness facts,
// and a button that has the server recompute it from the seeds (`POST /api/v1/fair/verify {bet_id}`).
// A bet's server seed stays secret until the player rotates their seed pair; the button rotates it first
// when it must (`POST /api/v1/fair/seeds/rotate`), which reveals the seed and starts a new pair.

import { ApiError, byTestId, el, formatMicros } from './common.js';
import { authed, failed, message } from './originals.js';

const ui = {
  betId: byTestId('verify-bet-id'),
  facts: byTestId('verify-facts'),
  button: byTestId('verify-button'),
  back: byTestId('verify-back'),
  result: byTestId('verify-result'),
  details: byTestId('verify-details'),
};

const state = { betId: null, bet: null, busy: false };

function fact(term, value, testid) {
  return [el('dt', { text: term }), el('dd', { class: 'mono', dataset: testid ? { testid } : undefined, text: value })];
}

function json(value) {
  return value === null || value === undefined ? '–' : JSON.stringify(value);
}

function renderBet(bet) {
  const fairness = bet.fairness || {};
  ui.betId.textContent = bet.id;
  ui.facts.replaceChildren(
    ...fact('Game', bet.game, 'verify-game'),
    ...fact('Status', bet.status),
    ...fact('Stake', formatMicros(bet.amount)),
    ...fact('Payout', bet.payout === null || bet.payout === undefined ? '–' : formatMicros(bet.payout)),
    ...fact('Options', json(bet.options)),
    ...fact('Result', json(bet.result)),
    ...fact('Server seed hash', fairness.server_seed_hash || '–'),
    ...fact('Client seed', fairness.client_seed || '–'),
    ...fact('Nonce', String(fairness.nonce ?? '–'), 'verify-nonce'),
    ...fact('Server seed', fairness.server_seed || 'secret until you rotate your seeds', 'verify-server-seed'),
  );
}

function clearVerdict() {
  ui.result.textContent = '';
  ui.result.dataset.verified = '';
  ui.result.className = 'verify-result';
  ui.details.replaceChildren();
}

async function load(betId) {
  state.betId = betId;
  state.bet = null;
  clearVerdict();
  ui.facts.replaceChildren();
  ui.betId.textContent = betId;
  ui.button.disabled = true;
  try {
    const answer = await authed(`/api/v1/bets/${encodeURIComponent(betId)}`);
    if (state.betId !== betId) return;
    state.bet = answer.bet;
    renderBet(state.bet);
    ui.button.disabled = false;
  } catch (error) {
    failed(error);
  }
}

/** Rotates the seed pair when the bet's server seed is still secret, then asks for the verdict. */
async function verify() {
  if (state.busy || !state.bet) return;
  state.busy = true;
  ui.button.disabled = true;
  const betId = state.bet.id;
  try {
    if (!state.bet.fairness || !state.bet.fairness.server_seed) {
      await authed('/api/v1/fair/seeds/rotate', { method: 'POST' });
      state.bet = (await authed(`/api/v1/bets/${encodeURIComponent(betId)}`)).bet;
      renderBet(state.bet);
    }
    const verdict = await authed('/api/v1/fair/verify', { method: 'POST', body: { bet_id: betId } });
    renderVerdict(verdict);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'game_in_progress') {
      message.show('finish your open Mines game first: the seeds cannot change while it runs (game_in_progress)', 'error');
    } else {
      failed(error);
    }
  } finally {
    state.busy = false;
    ui.button.disabled = false;
  }
}

function renderVerdict(verdict) {
  const ok = verdict.verified === true;
  ui.result.dataset.verified = String(ok);
  ui.result.className = `verify-result badge ${ok ? 'badge-ok' : 'badge-bad'}`;
  ui.result.textContent = ok ? '✓ Verified: the seeds give this result and this payout' : '✗ Not verified';
  const check = (matches) => (matches ? 'matches' : 'differs');
  ui.details.replaceChildren(
    ...fact('Seed hash', check(verdict.server_seed_hash_matches), 'verify-hash-check'),
    ...fact('Outcome', `${check(verdict.outcome_matches)}: ${json(verdict.outcome)}`, 'verify-outcome-check'),
    ...fact('Payout', `${check(verdict.payout_matches)}: ${formatMicros(verdict.payout)} (paid ${formatMicros(verdict.recorded_payout)})`, 'verify-payout-check'),
  );
}

ui.button.addEventListener('click', verify);
ui.back.addEventListener('click', () => history.back());
window.addEventListener('gc:view', (event) => {
  if (event.detail.view === 'verify') load(event.detail.betId);
});
