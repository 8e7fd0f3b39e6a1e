// The slot view of the player page (`#/play/{slot id}`, opened from the lobby, lobby.js): choose a bet
// level, spin, watch each board of a round in turn (the first board, every cascade, every free spin), buy
// the bonus, recall a past round with all its steps and verify it. It shares the page's log-in (the token
// play.js keeps in sessionStorage) and the balance in the top bar, and owns everything inside the slots
// view. Money stays in integer micro-units and is only formatted for display.

import {
  api, ApiError, byTestId, clearRefusals, el, formatMicros, formatTime, messageArea, randomId, show, showBalance,
  toMicros,
} from './common.js';

const TOKEN_KEY = 'gc.player.token';
const CLIENT_VERSION = '1.0.0';
const RECENT_LIMIT = 10;
/** How long each board of a step stays before the next one (a cascade, or the step's end). */
const FRAME_MS = 550;
/** The pause between free spins when they play by themselves. */
const AUTO_PLAY_MS = 700;
/** Free spins of one round the page plays at most (the server caps a round far below this). */
const STEPS_MAX = 1000;
const SESSION_ERRORS = ['session_not_found', 'session_expired', 'session_closed'];
/** A reveal refused because the round is no longer open. */
const ROUND_GONE = ['round_finished', 'no_round_in_progress', 'round_not_found'];

const SYMBOL_LABELS = { TEN: '10', SCAT: 'SCATTER' };

const ui = {
  gameSection: byTestId('game-section'),
  balance: byTestId('balance'),
  logout: byTestId('logout'),
  gameSelect: byTestId('slot-game-select'),
  gameInfo: byTestId('slot-game-info'),
  state: byTestId('slot-state'),
  stepLabel: byTestId('slot-step-label'),
  stepWin: byTestId('slot-step-win'),
  board: byTestId('slot-board'),
  wins: byTestId('slot-wins'),
  freeSpins: byTestId('slot-freespins'),
  freeSpinsCount: byTestId('slot-freespins-count'),
  runningWin: byTestId('slot-running-win'),
  nextFreeSpin: byTestId('slot-next-free-spin'),
  autoPlay: byTestId('slot-autoplay'),
  summary: byTestId('slot-bonus-summary'),
  betSelect: byTestId('slot-bet-select'),
  spin: byTestId('slot-spin'),
  buy: byTestId('slot-buy-bonus'),
  buyNote: byTestId('slot-buy-note'),
  result: byTestId('slot-result'),
  paytable: byTestId('slot-paytable').querySelector('tbody'),
  rounds: byTestId('slot-rounds-table').querySelector('tbody'),
  roundsRefresh: byTestId('slot-rounds-refresh'),
  recall: byTestId('slot-recall'),
  recallId: byTestId('slot-recall-id'),
  recallFacts: byTestId('slot-recall-facts'),
  recallSteps: byTestId('slot-recall-steps'),
  recallClose: byTestId('slot-recall-close'),
  verify: byTestId('slot-verify'),
  verifyResult: byTestId('slot-verify-result'),
};
const message = messageArea(byTestId('message'));

const state = {
  /** The load of the game list since the log-in (a promise), or false before it. */
  active: false,
  games: [],
  game: null,
  /** The open game session: {id, gameId}. */
  session: null,
  /** A request or an animation is under way: the buttons wait. */
  busy: false,
  /** The round on the board: {spinId, stake, bet, mode, step, finished, totalWin}. */
  round: null,
  autoTimer: null,
  /** The round shown in the recall panel. */
  recallId: null,
};

// ---------------------------------------------------------------------------------------------------
// Plumbing: the token, the balance, errors, the session
// ---------------------------------------------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function authed(path, options = {}) {
  return api(path, { ...options, token: token() });
}

/** The top bar's balance (the same element and format play.js uses). */
function setBalance(value) {
  showBalance(ui.balance, value);
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    deactivate();
    ui.logout.click();
    message.show(`please log in again: ${error.message}`, 'error');
    return;
  }
  message.error(error);
}

async function openSession(gameId) {
  const answer = await authed('/api/v1/game/init', {
    method: 'POST',
    body: { game_id: gameId, platform: 'web', locale: navigator.language || 'en', client_version: CLIENT_VERSION },
  });
  state.session = { id: answer.session_id, gameId };
  setBalance(answer.balance);
  return answer;
}

/**
 * Calls `request(sessionId)` with the open session, opening a new one when the server no longer knows
 * it (expired, closed) and trying once more: every paid call carries its Idempotency-Key, so the retry
 * can never pay twice.
 */
async function withSession(request) {
  const gameId = state.game.game_id;
  if (!state.session || state.session.gameId !== gameId) await openSession(gameId);
  try {
    return await request(state.session.id);
  } catch (error) {
    if (!(error instanceof ApiError) || !SESSION_ERRORS.includes(error.code)) throw error;
    await openSession(gameId);
    return request(state.session.id);
  }
}

// ---------------------------------------------------------------------------------------------------
// Start-up
// ---------------------------------------------------------------------------------------------------

/** The slots view opened for `gameId`: load the games (once per log-in) and open that game's session. */
async function activate(gameId) {
  if (!token() || ui.gameSection.classList.contains('hidden')) return;
  try {
    // One load of the games per log-in, however many times the view opens meanwhile.
    if (!state.active) state.active = loadGames();
    await state.active;
    if (!state.games.some((game) => game.game_id === gameId)) {
      message.show(`the slot game ${gameId} is not open right now`, 'error');
      return;
    }
    // A new log-in (no session yet) starts the game afresh, even the one the last player had open.
    if (!state.session || !state.game || state.game.game_id !== gameId) await chooseGame(gameId);
  } catch (error) {
    state.active = false;
    failed(error);
  }
}

/** Logged out: forget everything of the last player. */
function deactivate() {
  clearTimeout(state.autoTimer);
  Object.assign(state, { active: false, session: null, round: null, busy: false, recallId: null });
  ui.rounds.replaceChildren();
  show(ui.recall, false);
  show(ui.freeSpins, false);
  show(ui.summary, false);
  ui.result.replaceChildren();
  ui.result.dataset.state = 'none';
}

async function loadGames() {
  const answer = await api('/api/v1/slots/games');
  state.games = (answer.games || []).filter((game) => game.enabled !== false);
  if (state.games.length === 0) throw new Error('no slot game is open right now');
  ui.gameSelect.replaceChildren(...state.games.map((game) => el('option', { value: game.game_id, text: game.name })));
}

async function chooseGame(gameId) {
  clearTimeout(state.autoTimer);
  state.game = state.games.find((game) => game.game_id === gameId);
  ui.gameSelect.value = gameId;
  state.round = null;
  show(ui.freeSpins, false);
  show(ui.summary, false);
  show(ui.recall, false);
  renderGameInfo();
  renderBets();
  renderPaytable();
  renderBoard(emptyBoard(), {});
  setStepLabel('Spin to play', null);
  ui.wins.replaceChildren();
  setState('busy', 'opening…');
  const answer = await openSession(gameId);
  setState('idle', 'ready');
  loadRounds();
  if (answer.unfinished_round) await resumeRound(answer.unfinished_round);
}

// ---------------------------------------------------------------------------------------------------
// The game's description, bets and paytable
// ---------------------------------------------------------------------------------------------------

function renderGameInfo() {
  const game = state.game;
  const parts = [`${game.grid.reels}×${game.grid.rows}`,
    game.evaluation === 'lines' ? `${(game.paylines || []).length} lines` : 'ways'];
  if (game.features && game.features.cascades) parts.push('cascades');
  if (game.volatility) parts.push(`${game.volatility} volatility`);
  if (typeof game.rtp === 'number') parts.push(`RTP ${(game.rtp * 100).toFixed(2)} %`);
  ui.gameInfo.textContent = parts.join(' · ');
}

function renderBets() {
  const levels = state.game.bet_levels || [];
  const previous = ui.betSelect.value;
  ui.betSelect.replaceChildren(...levels.map((level) => el('option', { value: String(level), text: formatMicros(level) })));
  const keep = levels.some((level) => String(level) === previous);
  ui.betSelect.value = keep ? previous : String(state.game.default_bet ?? levels[0]);
  renderBuyNote();
}

function bonusMode() {
  return (state.game.modes || []).find((mode) => mode.bonus_buy);
}

function currentBet() {
  return BigInt(ui.betSelect.value);
}

/** The price of a mode at the chosen bet, in micro-units (the mode's cost is a multiple of the bet). */
function priceOf(mode) {
  return currentBet() * BigInt(mode.cost);
}

function renderBuyNote() {
  const mode = bonusMode();
  show(ui.buy, Boolean(mode));
  if (!mode) {
    ui.buyNote.textContent = '';
    return;
  }
  ui.buy.textContent = `Buy bonus · ${formatMicros(priceOf(mode))}`;
  ui.buy.dataset.price = priceOf(mode).toString();
  ui.buyNote.textContent = `The bonus costs ${mode.cost}× the bet and starts straight in free spins.`;
}

function renderPaytable() {
  const rows = (state.game.paytable || []).map((entry) => {
    const pays = payRuns(entry.pays_centibet || {})
      .map(({ from, to, pay }) => `${from}${to > from ? '+' : ''}: ${formatCentibet(pay)}`)
      .join(' · ');
    const note = entry.kind === 'wild' ? 'substitutes' : entry.kind === 'scatter' ? 'triggers free spins' : '';
    return el('tr', {},
      el('td', {}, symbolChip(entry.symbol)),
      el('td', { class: 'num', text: [pays, note].filter(Boolean).join(' · ') || '–' }));
  });
  ui.paytable.replaceChildren(...rows);
}

/**
 * A symbol's pays by count, runs of counts paying the same joined: scatters that pay 50× for 5 to 15
 * read "5+: 50×". A run always goes to the largest count listed, so "+" is exact.
 */
function payRuns(pays) {
  const entries = Object.entries(pays).map(([count, pay]) => ({ count: Number(count), pay: Number(pay) }))
    .sort((a, b) => a.count - b.count);
  const runs = [];
  for (const { count, pay } of entries) {
    const last = runs[runs.length - 1];
    if (last && last.pay === pay && last.to === count - 1) last.to = count;
    else runs.push({ from: count, to: count, pay });
  }
  // Only the last run may be shown as "n+": an inner run of equal pays is listed count by count.
  return runs.flatMap((run, index) => (index === runs.length - 1 || run.from === run.to ? [run]
    : Array.from({ length: run.to - run.from + 1 }, (_, i) => ({ from: run.from + i, to: run.from + i, pay: run.pay }))));
}

/** Hundredths of the bet as a multiplier: 250 → "2.5×". */
function formatCentibet(centibet) {
  const value = Number(centibet) / 100;
  return `${Number.isInteger(value) ? value : value.toFixed(2).replace(/0$/, '')}×`;
}

function symbolClass(symbol) {
  return `sym sym-${String(symbol).toLowerCase().replace(/[^a-z0-9]/g, '')}`;
}

function symbolChip(symbol) {
  return el('span', { class: `${symbolClass(symbol)} sym-chip`, text: SYMBOL_LABELS[symbol] || symbol });
}

// ---------------------------------------------------------------------------------------------------
// The board
// ---------------------------------------------------------------------------------------------------

function emptyBoard() {
  const { reels, rows } = state.game.grid;
  return Array.from({ length: reels }, () => Array.from({ length: rows }, () => null));
}

function cellKey(position) {
  return `${position.reel}:${position.row}`;
}

/**
 * Draws a board (reels, each top to bottom) into `container`: `winning` cells glow, `multipliers` show
 * a wild's factor. Returns the container.
 */
function drawBoard(container, board, { winning = new Set(), multipliers = new Map(), fresh = false } = {}) {
  const reels = (board || []).map((reel, reelIndex) => el('div', { class: 'reel' },
    reel.map((symbol, rowIndex) => {
      const key = `${reelIndex}:${rowIndex}`;
      const classes = [symbol ? symbolClass(symbol) : 'sym sym-empty', 'cell'];
      if (winning.has(key)) classes.push('cell-win');
      if (fresh) classes.push('cell-drop');
      const multiplier = multipliers.get(key);
      return el('div', { class: classes.join(' '), dataset: { symbol: symbol || '' } },
        el('span', { class: 'cell-label', text: symbol ? (SYMBOL_LABELS[symbol] || symbol) : '' }),
        multiplier ? el('span', { class: 'cell-multiplier', text: `×${multiplier}` }) : null);
    })));
  container.replaceChildren(...reels);
  return container;
}

function renderBoard(board, options) {
  drawBoard(ui.board, board, { ...options, fresh: true });
}

function multipliersOf(events) {
  const map = new Map();
  for (const event of events || []) {
    if (event.type !== 'reveal') continue;
    for (const cell of event.wild_multipliers || []) map.set(cellKey(cell), cell.multiplier);
  }
  return map;
}

/**
 * The boards of one step in the order they were played: the first board, then one per cascade, each
 * with the wins it paid (a win's `cascade` is the index of the board it was found on).
 */
function framesOf(outcome) {
  const wins = outcome.wins || [];
  const winsOn = (index) => wins.filter((win) => (win.cascade ?? 0) === index);
  const frames = [];
  if (outcome.reel_matrix) frames.push({ board: outcome.reel_matrix, wins: winsOn(0), cascade: 0 });
  for (const cascade of outcome.cascades || []) {
    frames.push({ board: cascade.board, wins: winsOn(cascade.step), cascade: cascade.step });
  }
  // Wins found after the last board was drawn (the scatter pay of the final board) go with that board.
  const shown = new Set(frames.flatMap((frame) => frame.wins));
  const rest = wins.filter((win) => !shown.has(win));
  if (frames.length > 0 && rest.length > 0) frames[frames.length - 1].wins.push(...rest);
  return frames;
}

function describeWin(win, bet) {
  const where = win.kind === 'scatter' ? 'scatter'
    : win.line !== undefined && win.line !== null ? `line ${win.line + 1}`
      : win.ways ? `${win.ways} way${win.ways === 1 ? '' : 's'}` : win.kind;
  const factors = [];
  if (win.multiplier > 1) factors.push(`wild ×${win.multiplier}`);
  if (win.cascade_multiplier > 1) factors.push(`cascade ×${win.cascade_multiplier}`);
  const money = bet === null ? '' : ` = ${formatMicros((BigInt(bet) * BigInt(win.amount)) / 100n)}`;
  return el('li', { dataset: { testid: 'slot-win' } },
    symbolChip(win.symbol),
    el('span', { text: ` ×${win.count} · ${where}${factors.length ? ` · ${factors.join(', ')}` : ''}` }),
    el('strong', { class: 'num', text: `${formatCentibet(win.amount)}${money}` }));
}

function setStepLabel(text, win) {
  ui.stepLabel.textContent = text;
  ui.stepWin.textContent = win === null || win === undefined ? '' : `win ${formatMicros(win)}`;
  ui.stepWin.classList.toggle('positive', win !== null && win !== undefined && toMicros(win) > 0n);
}

function stepTitle(outcome, round) {
  if (outcome.step === 0) return round.mode !== 'base' && isBuy(round.mode) ? 'Bonus bought' : 'Base spin';
  const total = round.totalFreeSpins;
  return `Free spin ${outcome.step}${total ? ` of ${total}` : ''}`;
}

function isBuy(modeName) {
  return (state.game.modes || []).some((mode) => mode.name === modeName && mode.bonus_buy);
}

const delay = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Shows one step board by board; resolves once its last board is on screen. */
async function playStep(outcome, round) {
  const frames = framesOf(outcome);
  const multipliers = multipliersOf(outcome.events);
  const title = stepTitle(outcome, round);
  ui.board.dataset.step = String(outcome.step);
  if (frames.length === 0) {
    // A bought bonus starts without a board of its own.
    renderBoard(emptyBoard(), {});
    ui.board.dataset.frame = 'none';
    setStepLabel(title, outcome.win);
    ui.wins.replaceChildren();
  }
  for (const [index, frame] of frames.entries()) {
    if (index > 0) await delay(FRAME_MS);
    const winning = new Set(frame.wins.flatMap((win) => (win.positions || []).map(cellKey)));
    renderBoard(frame.board, { winning, multipliers: frame.cascade === 0 ? multipliers : new Map() });
    ui.board.dataset.frame = `${index + 1}/${frames.length}`;
    const cascadeText = frame.cascade > 0 ? ` · cascade ${frame.cascade}` : '';
    setStepLabel(`${title}${cascadeText}`, index === frames.length - 1 ? outcome.win : null);
    ui.wins.replaceChildren(...frame.wins.map((win) => describeWin(win, round.bet)));
  }
  const trigger = outcome.bonus_triggered;
  const retrigger = (outcome.events || []).find((event) => event.type === 'free_spins_retriggered');
  if (trigger) ui.wins.append(el('li', { class: 'slot-win-feature', text: `${trigger.free_spins} free spins${trigger.bought ? ' bought' : ' triggered'}!` }));
  if (retrigger) ui.wins.append(el('li', { class: 'slot-win-feature', text: `+${retrigger.spins} free spins` }));
  if ((outcome.events || []).some((event) => event.type === 'win_cap_reached')) {
    ui.wins.append(el('li', { class: 'slot-win-feature', text: 'Maximum win reached: the round ends here' }));
  }
  if (frames.length > 0) await delay(FRAME_MS / 2);
}

// ---------------------------------------------------------------------------------------------------
// Playing a round
// ---------------------------------------------------------------------------------------------------

function setState(name, text) {
  ui.state.dataset.state = name;
  ui.state.textContent = text;
  ui.state.className = `phase slot-state slot-state-${name}`;
  updateButtons();
}

function updateButtons() {
  const inBonus = state.round !== null && !state.round.finished;
  const ready = state.game !== null && !state.busy;
  ui.spin.disabled = !ready || inBonus;
  ui.buy.disabled = !ready || inBonus;
  ui.betSelect.disabled = !ready || inBonus;
  ui.gameSelect.disabled = state.busy || inBonus;
  ui.nextFreeSpin.disabled = !ready || !inBonus;
}

function roundFrom(answer) {
  return {
    spinId: answer.spin_id,
    stake: answer.stake,
    bet: answer.bet,
    mode: answer.mode,
    step: answer.outcome.step,
    finished: answer.round.finished,
    totalWin: answer.round.total_win,
    totalFreeSpins: answer.round.total_free_spins,
  };
}

/** A spin or a bonus buy: pays the stake, then shows the first step. */
async function play(kind) {
  if (state.busy || !state.game) return;
  clearTimeout(state.autoTimer);
  state.busy = true;
  clearRefusals();
  show(ui.summary, false);
  show(ui.freeSpins, false);
  setState('busy', kind === 'buy' ? 'buying…' : 'spinning…');
  const bet = Number(currentBet());
  const key = randomId(kind === 'buy' ? 'web-buy-' : 'web-spin-');
  const gameId = state.game.game_id;
  let answer;
  try {
    answer = await withSession((sessionId) => (kind === 'buy'
      ? authed('/api/v1/bonus/trigger', {
        method: 'POST',
        headers: { 'Idempotency-Key': key },
        body: { session_id: sessionId, game_id: gameId, action: 'buy_feature', feature_id: bonusMode().name, bet: { amount: bet } },
      })
      : authed('/api/v1/spin', {
        method: 'POST',
        headers: { 'Idempotency-Key': key },
        body: { session_id: sessionId, game_id: gameId, bet: { amount: bet } },
      })));
  } catch (error) {
    state.busy = false;
    setState('idle', 'ready');
    failed(error);
    return;
  }
  await showAnswer(answer, { fresh: true });
}

/** Reveals the next free spin of the round on the board. */
async function nextFreeSpin() {
  const round = state.round;
  if (state.busy || !round || round.finished) return;
  clearTimeout(state.autoTimer);
  state.busy = true;
  setState('busy', 'revealing…');
  const gameId = state.game.game_id;
  // One key per step of the round: a retried reveal (say after a lost answer) shows the same step.
  const key = `web-reveal-${round.spinId}-${round.step + 1}`;
  let answer;
  try {
    answer = await withSession((sessionId) => authed('/api/v1/bonus/trigger', {
      method: 'POST',
      headers: { 'Idempotency-Key': key },
      body: { session_id: sessionId, game_id: gameId, action: 'spin', bonus_round_id: round.spinId },
    }));
  } catch (error) {
    state.busy = false;
    if (error instanceof ApiError && ROUND_GONE.includes(error.code)) {
      // Ended elsewhere (another tab, round/end, the sweep of abandoned rounds): show where it stands.
      await roundGone(round, error);
      return;
    }
    setState('free_spins', 'free spins');
    failed(error);
    return;
  }
  await showAnswer(answer, { fresh: false });
}

/** The round on the board ended without this page: its result comes from recall, the balance from the wallet. */
async function roundGone(round, error) {
  message.show(`this bonus round has already ended (${error.code}); its result is in the recent rounds`, 'info');
  state.round = { ...round, finished: true };
  show(ui.freeSpins, false);
  setState('idle', 'ready');
  try {
    const [wallet] = await Promise.all([authed('/api/v1/wallet/balance'), loadRounds()]);
    setBalance(wallet.balance);
  } catch (failure) {
    failed(failure);
  }
}

/**
 * Shows an answer (a spin, a buy or a reveal): the balance after the stake, the step board by board,
 * then where the round stands: free spins to come, or the round's result and the final balance.
 */
async function showAnswer(answer, { fresh }) {
  const round = roundFrom(answer);
  state.round = round;
  state.busy = true;
  setState('animating', answer.outcome.step === 0 ? 'spinning' : 'free spin');
  // Until the last board is shown the balance shows the stake taken and nothing won yet.
  const balance = toMicros(answer.balance);
  const won = toMicros(answer.round.total_win) ?? 0n;
  if (fresh || round.finished) setBalance(round.finished ? balance - won : balance);
  if (fresh) renderResult(round, null);
  await playStep(answer.outcome, round);
  renderFreeSpins(answer);
  state.busy = false;
  if (round.finished) {
    setBalance(answer.balance);
    renderResult(round, answer);
    if (answer.bonus_summary) renderSummary(answer.bonus_summary);
    setState('done', round.totalWin > 0 ? `won ${formatMicros(round.totalWin)}` : 'no win');
    loadRounds();
    return;
  }
  setState('free_spins', 'free spins');
  if (ui.autoPlay.checked && answer.outcome.step < STEPS_MAX) {
    state.autoTimer = setTimeout(nextFreeSpin, AUTO_PLAY_MS);
  }
}

/** A round left open (found when the session opened): shows where it stands and carries on. */
async function resumeRound(answer) {
  message.show('you have a bonus round in progress: its free spins continue here', 'info');
  state.busy = true;
  await showAnswer(answer, { fresh: false });
  renderResult(roundFrom(answer), null);
}

function renderFreeSpins(answer) {
  const round = answer.round;
  const inBonus = !round.finished;
  const played = Number(round.free_spins_played || 0);
  const total = Number(round.total_free_spins || 0);
  show(ui.freeSpins, inBonus || total > 0);
  show(ui.nextFreeSpin, inBonus);
  ui.freeSpins.dataset.remaining = String(round.free_spins_remaining ?? 0);
  ui.freeSpins.dataset.played = String(played);
  ui.freeSpinsCount.textContent = inBonus
    ? `${played} of ${total} played · ${round.free_spins_remaining} left`
    : `${played} played`;
  ui.runningWin.textContent = formatMicros(round.running_win ?? round.total_win);
}

function renderSummary(summary) {
  ui.summary.replaceChildren(
    el('strong', { text: 'Bonus complete' }),
    el('span', { text: ` ${summary.free_spins_played} free spins · total win ` }),
    el('strong', { class: 'num', dataset: { testid: 'slot-bonus-total' }, text: formatMicros(summary.total_win) }),
    el('span', { class: 'muted', text: ` (${formatCentibet(summary.total_win_centibet)} the bet)` }));
  ui.summary.dataset.totalWin = String(summary.total_win);
  ui.summary.dataset.freeSpins = String(summary.free_spins_played);
  ui.summary.dataset.spinId = String(summary.bonus_round_id);
  show(ui.summary, true);
}

/** The last round's money: the stake, the win once known and the net. */
function renderResult(round, answer) {
  const finished = answer !== null;
  ui.result.dataset.state = finished ? 'finished' : 'playing';
  ui.result.dataset.spinId = round.spinId;
  ui.result.dataset.stake = String(round.stake);
  ui.result.dataset.win = finished ? String(round.totalWin) : '';
  ui.result.dataset.balance = finished ? String(answer.balance) : '';
  const rows = [
    el('div', {}, el('span', { class: 'muted', text: 'Stake' }), el('span', { class: 'num', text: formatMicros(-round.stake) })),
    el('div', {}, el('span', { class: 'muted', text: 'Win' }),
      el('span', { class: 'num', text: finished ? formatMicros(round.totalWin, { sign: true }) : '…' })),
  ];
  if (finished) {
    const net = BigInt(round.totalWin) - BigInt(round.stake);
    rows.push(el('div', { class: 'slot-net' }, el('span', { class: 'muted', text: 'Net' }),
      el('strong', { class: `num ${net >= 0n ? 'positive' : 'negative'}`, text: formatMicros(net, { sign: true }) })));
  }
  ui.result.replaceChildren(...rows);
}

// ---------------------------------------------------------------------------------------------------
// Recent rounds, recall and verification
// ---------------------------------------------------------------------------------------------------

async function loadRounds() {
  if (!state.game || !token()) return;
  const gameId = state.game.game_id;
  try {
    const answer = await authed(`/api/v1/slots/rounds?game_id=${encodeURIComponent(gameId)}&limit=${RECENT_LIMIT}`);
    if (!state.game || state.game.game_id !== gameId) return;
    renderRounds(answer.rounds || []);
  } catch (error) {
    failed(error);
  }
}

function renderRounds(rounds) {
  ui.rounds.replaceChildren(...rounds.map((round) => {
    const win = round.round.total_win ?? round.round.running_win;
    return el('tr', { dataset: { testid: 'slot-round-row', spinId: round.spin_id, status: round.status } },
      el('td', { text: formatTime(round.created_at) }),
      el('td', { text: round.mode }),
      el('td', { class: 'num', text: formatMicros(round.stake) }),
      el('td', { class: `num ${toMicros(win) > 0n ? 'positive' : ''}`, text: formatMicros(win) }),
      el('td', { class: 'num', text: String((round.steps || []).length) }),
      el('td', { text: round.status }),
      el('td', {}, el('button', {
        type: 'button', class: 'button-secondary button-small', text: 'Open',
        dataset: { testid: 'slot-round-open' }, onclick: () => openRecall(round.spin_id),
      })));
  }));
  if (rounds.length === 0) ui.rounds.append(el('tr', {}, el('td', { colSpan: 7, class: 'muted', text: 'No rounds yet.' })));
}

async function openRecall(spinId) {
  try {
    const round = await authed(`/api/v1/slots/rounds/${encodeURIComponent(spinId)}`);
    state.recallId = spinId;
    renderRecall(round);
    ui.verifyResult.textContent = '';
    ui.verifyResult.dataset.verified = '';
    ui.verifyResult.className = 'slot-verify-result';
    show(ui.recall, true);
    ui.recall.scrollIntoView({ block: 'nearest' });
  } catch (error) {
    failed(error);
  }
}

function fact(term, value, testid) {
  return [el('dt', { text: term }), el('dd', { class: 'mono-soft', dataset: testid ? { testid } : undefined, text: value })];
}

function renderRecall(round) {
  const game = state.games.find((entry) => entry.game_id === round.game_id);
  const fairness = round.fairness || {};
  ui.recall.dataset.spinId = round.spin_id;
  ui.recall.dataset.steps = String((round.steps || []).length);
  ui.recallId.textContent = round.spin_id;
  ui.recallFacts.replaceChildren(
    ...fact('Game', `${game ? game.name : round.game_id} · ${round.mode}`),
    ...fact('Played', `${formatTime(round.created_at)} · ${round.status}${round.ended_by ? ` (${round.ended_by})` : ''}`),
    ...fact('Bet / stake', `${formatMicros(round.bet)} / ${formatMicros(round.stake)}`),
    ...fact('Total win', formatMicros(round.round.total_win ?? round.round.running_win), 'slot-recall-total'),
    ...fact('Steps', String((round.steps || []).length)),
    ...fact('Server seed hash', fairness.server_seed_hash || '–'),
    ...fact('Server seed', fairness.server_seed || 'secret until you rotate your seeds', 'slot-recall-seed'),
    ...fact('Client seed · nonce', `${fairness.client_seed ?? '–'} · ${fairness.nonce ?? '–'}`),
    ...fact('Events hash', fairness.events_hash || '–'),
    ...fact('Math version', round.math_version || '–'));
  ui.recallSteps.replaceChildren(...(round.steps || []).map((step) => recallStep(step, round)));
}

function recallStep(step, round) {
  const title = step.step === 0 ? (isBuy(round.mode) ? 'Bonus bought' : 'Base spin') : `Free spin ${step.step}`;
  const frames = framesOf(step);
  const multipliers = multipliersOf(step.events);
  const boards = frames.map((frame) => el('figure', { class: 'recall-frame' },
    drawBoard(el('div', { class: 'slot-board slot-board-mini', dataset: { testid: 'slot-recall-board' } }), frame.board, {
      winning: new Set(frame.wins.flatMap((win) => (win.positions || []).map(cellKey))),
      multipliers: frame.cascade === 0 ? multipliers : new Map(),
    }),
    el('figcaption', { class: 'muted', text: frame.cascade === 0 ? 'board' : `cascade ${frame.cascade}` })));
  const notes = [];
  if (step.bonus_triggered) notes.push(`${step.bonus_triggered.free_spins} free spins${step.bonus_triggered.bought ? ' bought' : ' triggered'}`);
  const retrigger = (step.events || []).find((event) => event.type === 'free_spins_retriggered');
  if (retrigger) notes.push(`+${retrigger.spins} free spins`);
  return el('section', { class: 'recall-step', dataset: { testid: 'slot-recall-step', step: String(step.step) } },
    el('header', { class: 'recall-step-head' },
      el('strong', { text: title }),
      el('span', { class: 'muted', text: notes.join(' · ') }),
      el('span', { class: `num ${toMicros(step.win) > 0n ? 'positive' : 'muted'}`, text: `win ${formatMicros(step.win)}` })),
    el('div', { class: 'recall-frames' }, boards),
    el('ul', { class: 'slot-wins slot-wins-small' }, (step.wins || []).map((win) => describeWin(win, round.bet))));
}

/** Verifies the recalled round: rotates the seeds first when its server seed is still secret. */
async function verifyRecalled() {
  const spinId = state.recallId;
  if (!spinId) return;
  ui.verify.disabled = true;
  ui.verifyResult.textContent = 'checking…';
  ui.verifyResult.dataset.verified = '';
  ui.verifyResult.className = 'slot-verify-result';
  try {
    let round = await authed(`/api/v1/slots/rounds/${encodeURIComponent(spinId)}`);
    if (!round.round.finished) throw new Error('a round can be verified once it has ended');
    if (!round.fairness.server_seed) {
      await authed('/api/v1/fair/seeds/rotate', { method: 'POST', body: {} });
      message.show('seeds rotated: the server seed of your earlier rounds is revealed, a new pair is in use', 'info');
    }
    const verdict = await authed('/api/v1/fair/verify', { method: 'POST', body: { spin_id: spinId } });
    round = await authed(`/api/v1/slots/rounds/${encodeURIComponent(spinId)}`);
    if (state.recallId !== spinId) return;
    renderRecall(round);
    renderVerdict(verdict);
  } catch (error) {
    ui.verifyResult.textContent = '';
    if (error instanceof ApiError && error.code === 'game_in_progress') {
      message.show('finish the round in progress before your seeds can be rotated', 'error');
    } else {
      failed(error);
    }
  } finally {
    ui.verify.disabled = false;
  }
}

function renderVerdict(verdict) {
  const ok = verdict.verified === true;
  ui.verifyResult.dataset.verified = String(ok);
  ui.verifyResult.className = `slot-verify-result badge ${ok ? 'badge-ok' : 'badge-bad'}`;
  const payout = `payout ${formatMicros(verdict.payout)} (recorded ${formatMicros(verdict.recorded_payout)})`;
  ui.verifyResult.textContent = ok
    ? `✓ Verified: replayed events match, ${payout}`
    : `✗ Not verified: ${verdict.events_hash === verdict.recorded_events_hash ? 'events match' : 'events differ'}, ${payout}`;
}

// ---------------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------------

window.addEventListener('gc:view', (event) => {
  if (event.detail.view === 'slots') activate(event.detail.code);
});
// Another game is another catalog game: the router launches it (a session of its own) and comes back.
ui.gameSelect.addEventListener('change', () => {
  location.hash = `#/play/${encodeURIComponent(ui.gameSelect.value)}`;
});
ui.betSelect.addEventListener('change', renderBuyNote);
ui.spin.addEventListener('click', () => play('spin'));
ui.buy.addEventListener('click', () => play('buy'));
ui.nextFreeSpin.addEventListener('click', nextFreeSpin);
ui.autoPlay.addEventListener('change', () => {
  if (ui.autoPlay.checked && state.round && !state.round.finished && !state.busy) nextFreeSpin();
  else clearTimeout(state.autoTimer);
});
ui.roundsRefresh.addEventListener('click', loadRounds);
ui.recallClose.addEventListener('click', () => {
  state.recallId = null;
  show(ui.recall, false);
});
ui.verify.addEventListener('click', verifyRecalled);

// play.js hides the game section at log-out.
new MutationObserver(() => {
  if (ui.gameSection.classList.contains('hidden')) deactivate();
}).observe(ui.gameSection, { attributes: true, attributeFilter: ['class'] });
