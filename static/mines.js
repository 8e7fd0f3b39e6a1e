// The Mines view (`#/play/mines`): the player stakes on a 5×5 board with 1 to 24 hidden mines
// (`POST /api/v1/mines/bet`), reveals tiles one at a time (`/mines/click`) and may cash out after any
// safe one (`/mines/cashout`). A mine ends the game with nothing paid; either way the whole board is
// shown at the end. A game left open (a reload, another tab or node) is picked up from
// `GET /api/v1/mines/active` when the view opens.

import { ApiError, byTestId, el, formatMicros } from './common.js';
import {
  authed, failed, limitsText, message, onLogout, outcomeText, placeBet, renderFairness, setBalance, stakeOf,
} from './originals.js';

const TILES = 25;
const MINES_MIN = 1;
const MINES_MAX = 24;
const MINES_DEFAULT = 3;
/** Refusals that mean the page's picture of the game is behind the server's: it reloads the game. */
const STALE_GAME = ['tile_already_revealed', 'game_finished', 'game_in_progress', 'game_not_found'];

const ui = {
  info: byTestId('mines-info'),
  status: byTestId('mines-state'),
  grid: byTestId('mines-grid'),
  outcome: byTestId('mines-outcome'),
  form: byTestId('mines-form'),
  amount: byTestId('mines-amount'),
  count: byTestId('mines-count'),
  bet: byTestId('mines-bet'),
  cashout: byTestId('mines-cashout'),
  next: byTestId('mines-next'),
  fairness: byTestId('mines-fairness'),
};

/** bet: the game on the board (the API's bet view), open or finished; null before the first. */
const state = { bet: null, busy: false };

function isOpen(bet) {
  return Boolean(bet) && bet.status === 'open';
}

function tileState(bet, tile) {
  const result = (bet && bet.result) || {};
  if (result.mine_hit === tile) return 'mine-hit';
  if ((result.revealed || []).includes(tile)) return 'safe';
  if ((result.mines || []).includes(tile)) return 'mine';
  return 'hidden';
}

const TILE_TEXT = { 'mine-hit': '✹', mine: '✹', safe: '◆', hidden: '' };

function renderGrid() {
  const bet = state.bet;
  const playable = isOpen(bet) && !state.busy;
  ui.grid.replaceChildren(...Array.from({ length: TILES }, (_, tile) => {
    const shown = tileState(bet, tile);
    return el('button', {
      type: 'button',
      class: `mines-tile mines-tile-${shown}`,
      dataset: { testid: 'mines-tile', tile: String(tile), state: shown },
      'aria-label': `tile ${tile + 1}: ${shown}`,
      disabled: !playable || shown !== 'hidden',
      onclick: () => reveal(tile),
      text: TILE_TEXT[shown],
    });
  }));
  ui.grid.dataset.betId = bet ? bet.id : '';
  ui.grid.dataset.status = bet ? bet.status : 'none';
}

function setStatus(name, text) {
  ui.status.dataset.state = name;
  ui.status.textContent = text;
}

function render() {
  const bet = state.bet;
  const open = isOpen(bet);
  const result = (bet && bet.result) || {};
  renderGrid();
  const revealed = (result.revealed || []).length;
  ui.cashout.disabled = !open || state.busy || revealed === 0;
  ui.cashout.textContent = open && bet.cashout_payout ? `Cash out ${formatMicros(bet.cashout_payout)}` : 'Cash out';
  ui.bet.disabled = open || state.busy;
  ui.amount.disabled = open;
  ui.count.disabled = open;
  if (open) {
    setStatus('open', `${result.mines_count} mines · ${revealed} safe`);
    const now = result.multiplier ? `now ${result.multiplier}x` : 'reveal a tile to win';
    ui.next.textContent = result.next_multiplier ? `${now} · next safe tile ${result.next_multiplier}x` : now;
    ui.outcome.textContent = `Stake ${formatMicros(bet.amount)}`;
  } else if (bet) {
    const won = result.mine_hit === null || result.mine_hit === undefined;
    setStatus(won ? 'won' : 'lost', won ? `cashed out at ${result.multiplier}x` : 'hit a mine');
    ui.next.textContent = '';
    ui.outcome.textContent = `${won ? `${revealed} safe tile${revealed === 1 ? '' : 's'}` : 'A mine'}: ${outcomeText(bet)}`;
  } else {
    setStatus('idle', 'place a bet');
    ui.next.textContent = '';
    ui.outcome.textContent = '';
  }
  ui.outcome.dataset.payout = bet && bet.payout !== null && bet.payout !== undefined ? String(bet.payout) : '';
  renderFairness(ui.fairness, bet);
}

function shown(answer) {
  state.bet = answer.bet;
  if (answer.balance !== undefined && answer.balance !== null) setBalance(answer.balance);
  render();
}

/** Runs one request with the board locked; a stale picture of the game is refreshed from the server. */
async function busy(request) {
  if (state.busy) return;
  state.busy = true;
  render();
  try {
    shown(await request());
  } catch (error) {
    if (error instanceof ApiError && STALE_GAME.includes(error.code)) {
      message.show(`${error.message} (${error.code})`, 'info');
      await reload();
    } else {
      failed(error);
    }
  } finally {
    state.busy = false;
    render();
  }
}

function startGame(submitEvent) {
  submitEvent.preventDefault();
  let amount;
  try {
    amount = stakeOf(ui.amount);
  } catch (error) {
    message.show(error.message);
    return;
  }
  busy(() => placeBet('/api/v1/mines/bet', { amount, mines: Number(ui.count.value) }));
}

function reveal(tile) {
  if (!isOpen(state.bet)) return;
  const gameId = state.bet.id;
  busy(() => authed('/api/v1/mines/click', { method: 'POST', body: { game_id: gameId, tile } }));
}

function cashOut() {
  if (!isOpen(state.bet)) return;
  const gameId = state.bet.id;
  busy(() => authed('/api/v1/mines/cashout', { method: 'POST', body: { game_id: gameId } }));
}

/** The open game, if any; otherwise the last game shown, as the server has it now. */
async function reload() {
  try {
    const active = await authed('/api/v1/mines/active');
    if (active.bet) {
      state.bet = active.bet;
    } else if (state.bet) {
      state.bet = (await authed(`/api/v1/bets/${encodeURIComponent(state.bet.id)}`)).bet;
    }
  } catch (error) {
    failed(error);
  }
  render();
}

ui.count.replaceChildren(...Array.from({ length: MINES_MAX - MINES_MIN + 1 }, (_, index) => {
  const mines = MINES_MIN + index;
  return el('option', { value: String(mines), text: String(mines) });
}));
ui.count.value = String(MINES_DEFAULT);
ui.form.addEventListener('submit', startGame);
ui.cashout.addEventListener('click', cashOut);
window.addEventListener('gc:view', (event) => {
  if (event.detail.view !== 'mines') return;
  ui.info.textContent = limitsText(event.detail.game);
  render();
  reload();
});
// A new player starts from an empty board.
onLogout(() => {
  state.bet = null;
  render();
});
