// The player page's log-in and its crash view: log in or sign up, top up (where the server allows it),
// and in the crash view (`#/play/{room}`, opened from the lobby, lobby.js) watch a room live over the
// WebSocket, bet, cash out and see the history. The room's socket stays open while the player is in,
// whatever the view: it carries the balance pushes and the operators' broadcasts. Money is kept in
// integer micro-units (BigInt) and only formatted for display.

import {
  api, ApiError, byTestId, clearRefusals, el, formatMicros, formatMultiplier, formatTime, messageArea,
  microsToJson, parseMultiplier, parseUnits, randomId, ReconnectingSocket, show, showBalance, showRefusal, socketUrl,
  toMicros, CLOSE_UNAUTHENTICATED, CLOSE_TOKEN_REVOKED,
} from './common.js';
import { createCurve, formatHundredths } from './curve.js';

const TOKEN_KEY = 'gc.player.token';
const NAME_KEY = 'gc.player.username';
const ROOM_KEY = 'gc.player.room';
const DEFAULT_ROOMS = ['aviator', 'jetx'];
const TOP_UP_MICROS = 100n * 1000000n;
const HISTORY_LIMIT = 20;
const LEADERBOARD_LIMIT = 10;
const RECENT_CRASHES_MAX = 12;

const ui = {
  playerBar: byTestId('player-bar'),
  playerName: byTestId('player-name'),
  balance: byTestId('balance'),
  topUp: byTestId('top-up'),
  logout: byTestId('logout'),
  maintenance: byTestId('maintenance-banner'),
  maintenanceText: byTestId('maintenance-text'),
  maintenanceClose: byTestId('maintenance-close'),
  authSection: byTestId('auth-section'),
  authForm: byTestId('auth-form'),
  username: byTestId('username'),
  password: byTestId('password'),
  signup: byTestId('signup-button'),
  game: byTestId('game-section'),
  roomName: byTestId('room-name'),
  phase: byTestId('phase'),
  paused: byTestId('betting-paused'),
  connection: byTestId('connection-status'),
  multiplier: byTestId('multiplier'),
  curve: byTestId('curve'),
  recentCrashes: byTestId('recent-crashes'),
  betForm: byTestId('bet-form'),
  amount: byTestId('bet-amount'),
  autoCashout: byTestId('auto-cashout'),
  placeBet: byTestId('place-bet'),
  cashout: byTestId('cashout'),
  myBets: byTestId('my-bets'),
  cashoutFeed: byTestId('cashout-feed'),
  history: byTestId('history-table').querySelector('tbody'),
  transactions: byTestId('transactions-table').querySelector('tbody'),
  leaderboard: byTestId('leaderboard-table').querySelector('tbody'),
  leaderboardRoom: byTestId('leaderboard-room'),
};
const message = messageArea(byTestId('message'));

const state = {
  token: null,
  username: null,
  room: sessionStorage.getItem(ROOM_KEY) || DEFAULT_ROOMS[0],
  socket: null,
  curve: null,
  phase: null,
  roundId: null,
  bettingEndsAt: null,
  paused: false,
  /** bet_id → bet, for the current round and the one before (so a result stays visible). */
  bets: new Map(),
  recentCrashes: [],
  refreshTimer: null,
  refreshAfterRound: false,
  countdownTimer: null,
  /** The `ts` of the last balance_updated push applied. */
  balancePushedAt: 0,
};

// ---------------------------------------------------------------------------------------------------
// Log in, sign up, log out
// ---------------------------------------------------------------------------------------------------

async function authenticate(kind) {
  const username = ui.username.value.trim();
  const password = ui.password.value;
  if (!username || !password) {
    message.show('enter a username and a password');
    return;
  }
  try {
    const answer = await api(`/api/v1/auth/${kind}`, { method: 'POST', body: { username, password } });
    sessionStorage.setItem(TOKEN_KEY, answer.token);
    sessionStorage.setItem(NAME_KEY, answer.player ? answer.player.username : username);
    ui.password.value = '';
    message.show(kind === 'signup' ? `welcome, ${username}` : `logged in as ${username}`, 'ok');
    await enterGame();
  } catch (error) {
    message.error(error);
  }
}

function logout(reason) {
  if (state.socket) state.socket.close();
  state.socket = null;
  clearTimeout(state.refreshTimer);
  state.refreshTimer = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(NAME_KEY);
  state.token = null;
  state.bets.clear();
  renderBets();
  setBalance(null);
  show(ui.game, false);
  show(ui.playerBar, false);
  show(ui.authSection, true);
  if (reason) message.show(reason, 'error');
}

/** Handles an API failure: an expired or unknown token logs out, anything else is shown. */
function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    logout(`please log in again: ${error.message}`);
    return;
  }
  message.error(error);
}

async function enterGame() {
  state.token = sessionStorage.getItem(TOKEN_KEY);
  state.username = sessionStorage.getItem(NAME_KEY) || '';
  if (!state.token) return;
  ui.playerName.textContent = state.username;
  show(ui.authSection, false);
  show(ui.playerBar, true);
  show(ui.game, true);
  if (!state.curve) state.curve = createCurve(ui.curve, { onFrame: showCurveFrame });
  else state.curve.resize();
  if (!state.username) loadName();
  await loadRooms();
  connect();
  refreshBalance();
  refreshTables();
}

/** The player's name when the page only kept the token. */
async function loadName() {
  try {
    const me = await api('/api/v1/me', { token: state.token });
    state.username = me.username;
    sessionStorage.setItem(NAME_KEY, me.username);
    ui.playerName.textContent = me.username;
  } catch (error) {
    failed(error);
  }
}

/** Checks the remembered room against the rooms the nodes run (the game registry). */
async function loadRooms() {
  let rooms = DEFAULT_ROOMS;
  try {
    const answer = await api('/api/v1/games/registry');
    const crash = (answer.games || []).find((game) => game.game === 'crash');
    if (crash && crash.rooms && Object.keys(crash.rooms).length > 0) rooms = Object.keys(crash.rooms);
  } catch {
    // The defaults serve: the list is only a check.
  }
  if (!rooms.includes(state.room)) state.room = rooms[0];
  ui.roomName.textContent = state.room;
}

/**
 * The crash view opened for `room` (a crash game's catalog code is its room's name). Before the first
 * socket opens (the log-in is still under way) the room is only noted: enterGame connects to it.
 */
function enterRoom(room) {
  // The curve was drawn while its view was hidden; it sizes itself on resize.
  window.dispatchEvent(new Event('resize'));
  if (room === state.room) return;
  state.room = room;
  sessionStorage.setItem(ROOM_KEY, room);
  ui.roomName.textContent = room;
  if (!state.socket) return;
  connect();
  refreshLeaderboard();
}

// ---------------------------------------------------------------------------------------------------
// The room over the WebSocket
// ---------------------------------------------------------------------------------------------------

function connect() {
  if (state.socket) state.socket.close();
  resetRoom();
  const room = state.room;
  state.socket = new ReconnectingSocket(() => socketUrl('/ws', { room, token: state.token }), {
    onMessage: handle,
    onStatus(text) {
      ui.connection.textContent = text;
      ui.connection.dataset.state = text.split(' ')[0];
    },
    onClose({ code, reason, wasOpen }) {
      if (code === CLOSE_UNAUTHENTICATED || code === CLOSE_TOKEN_REVOKED) {
        logout(`please log in again: ${reason || 'the session was refused'}`);
        return false;
      }
      // A socket refused before it opened may mean an expired token: ask the API, which says so.
      if (!wasOpen) api('/api/v1/wallet/balance', { token: state.token }).catch(failed);
      return true;
    },
  });
}

function resetRoom() {
  state.phase = null;
  state.roundId = null;
  state.bettingEndsAt = null;
  state.bets.clear();
  state.recentCrashes = [];
  setPaused(false);
  setPhase('starting');
  renderBets();
  renderRecentCrashes();
  ui.cashoutFeed.replaceChildren();
  if (state.curve) state.curve.reset(null);
}

function handle(event) {
  switch (event.type) {
    case 'initial_state':
      applyRoomState(event);
      if (Array.isArray(event.my_bets)) {
        state.bets.clear();
        for (const bet of event.my_bets) state.bets.set(bet.bet_id, bet);
        renderBets();
      }
      if (event.balance !== null && event.balance !== undefined) setBalance(event.balance);
      break;
    case 'resync':
      if (event.state) applyRoomState(event.state);
      break;
    case 'round_start':
      startBetting(event.round_id, Date.now() + Number(event.betting_ms || 0), event.previous_round);
      break;
    case 'round_running':
      state.roundId = event.round_id;
      setPhase('running');
      // The round starts now, as far as this page can tell: elapsed 0 on arrival.
      state.curve.setTickInterval(event.tick_interval_ms);
      state.curve.reset(event.round_id);
      state.curve.follow(event.round_id, 0);
      break;
    case 'tick':
      onTick(event);
      break;
    case 'crash':
      onCrash(event);
      break;
    case 'round_aborted':
      message.show(`round ${event.round_id} was cut short (${event.reason}); its bets are refunded`, 'info');
      for (const bet of state.bets.values()) {
        if (bet.round_id === event.round_id && (bet.status === 'open' || bet.status === 'pending')) bet.status = 'refunded';
      }
      renderBets();
      setPhase('starting');
      scheduleRefresh(true);
      break;
    case 'bet_placed':
      state.bets.set(event.bet.bet_id, event.bet);
      renderBets();
      if (event.balance !== null && event.balance !== undefined) setBalance(event.balance);
      message.show(`bet of ${formatMicros(event.bet.amount)} placed on round ${event.bet.round_id}${event.replayed ? ' (already placed)' : ''}`, 'ok');
      scheduleRefresh(false);
      break;
    case 'cashed_out':
      onCashedOut(event);
      break;
    case 'balance':
      setBalance(event.balance);
      break;
    case 'balance_updated':
      // Pushed after any movement of this player's money on any node; an older push arriving late is ignored.
      if (event.ts >= state.balancePushedAt) {
        state.balancePushedAt = event.ts;
        setBalance(event.balance);
      }
      break;
    case 'betting_paused':
      if (!event.room || event.room === state.room) setPaused(true, event.reason);
      break;
    case 'betting_resumed':
      if (!event.room || event.room === state.room) setPaused(false);
      break;
    case 'maintenance':
      ui.maintenanceText.textContent = event.message || '';
      ui.maintenance.dataset.at = event.at || '';
      show(ui.maintenance, true);
      break;
    case 'error':
      showRefusal(event.code, event.message);
      message.show(`${event.message} (${event.code})`, 'error');
      break;
    case 'reality_check':
      // account.js shows it: the reminder belongs to the player's account, whatever the view.
      window.dispatchEvent(new CustomEvent('gc:reality-check', { detail: event }));
      break;
    default:
      break;
  }
}

/** Takes a whole room state (initial_state or resync), replacing what the page knew. */
function applyRoomState(room) {
  state.roundId = room.round_id ?? null;
  state.curve.setTickInterval(room.tick_interval_ms);
  if (room.betting_paused !== undefined) setPaused(Boolean(room.betting_paused));
  if (room.previous_round) rememberCrash(room.previous_round);
  switch (room.phase) {
    case 'betting': {
      let endsAt = null;
      if (room.betting_ends_in_ms !== undefined) endsAt = Date.now() + Number(room.betting_ends_in_ms);
      else if (room.betting_ends_at) endsAt = Date.parse(room.betting_ends_at);
      startBetting(room.round_id, endsAt, null);
      break;
    }
    case 'running':
      setPhase('running');
      // The elapsed time is the last tick's: a reading like a tick's (the curve goes on, never back).
      if (room.elapsed_ms !== undefined) {
        state.curve.follow(room.round_id, room.elapsed_ms);
      } else {
        state.curve.reset(room.round_id);
        ui.multiplier.textContent = formatMultiplier(room.multiplier || 1);
      }
      break;
    case 'crashed':
      state.curve.crashed(room.round_id, room.elapsed_ms, room.crash_point ?? room.multiplier);
      setPhase('crashed', room.crash_point ?? room.multiplier);
      break;
    default:
      setPhase(room.phase || 'starting');
  }
}

function startBetting(roundId, endsAt, previousRound) {
  state.roundId = roundId;
  state.bettingEndsAt = endsAt;
  if (previousRound) rememberCrash(previousRound);
  // Bets of older rounds are settled by now; the results of the last round stay until this one runs.
  for (const [id, bet] of state.bets) {
    if (bet.round_id !== roundId && !['open', 'pending', 'cashing_out'].includes(bet.status)) state.bets.delete(id);
  }
  renderBets();
  ui.cashoutFeed.replaceChildren();
  state.curve.reset(roundId);
  setPhase('betting');
}

function onTick(event) {
  if (state.phase !== 'running' || state.roundId !== event.round_id) {
    state.roundId = event.round_id;
    setPhase('running');
  }
  state.curve.tick(event);
  for (const cashout of event.cashouts || []) {
    ui.cashoutFeed.prepend(el('li', {},
      el('span', { class: 'feed-name', text: cashout.username }),
      el('span', { class: 'num', text: ` ${formatMultiplier(cashout.multiplier)} · ${formatMicros(cashout.payout)}` })));
  }
  while (ui.cashoutFeed.children.length > 30) ui.cashoutFeed.lastChild.remove();
}

/** Each frame of a running round's curve: the big number follows it, and says when ticks stopped. */
function showCurveFrame({ hundredths, stalled, crashed }) {
  if (state.phase !== 'running' || crashed) return;
  ui.multiplier.textContent = formatHundredths(hundredths);
  ui.multiplier.dataset.stalled = String(stalled);
  ui.multiplier.classList.toggle('multiplier-stalled', stalled);
  ui.phase.textContent = stalled ? 'Running · waiting for the server' : 'Running';
}

function onCrash(event) {
  state.curve.crashed(event.round_id, event.elapsed_ms, event.crash_point);
  setPhase('crashed', event.crash_point);
  rememberCrash({ round_id: event.round_id, crash_point: event.crash_point, hash: event.hash });
  for (const bet of state.bets.values()) {
    if (bet.round_id === event.round_id && bet.status === 'open') bet.status = 'lost';
  }
  renderBets();
  scheduleRefresh(true);
}

function onCashedOut(event) {
  const bet = state.bets.get(event.bet_id) || { bet_id: event.bet_id, round_id: event.round_id };
  bet.status = 'cashed_out';
  bet.cashout_multiplier = event.multiplier;
  bet.payout = event.payout;
  state.bets.set(event.bet_id, bet);
  renderBets();
  if (event.balance !== null && event.balance !== undefined) setBalance(event.balance);
  message.show(`cashed out at ${formatMultiplier(event.multiplier)}: ${formatMicros(event.payout)}${event.auto ? ' (auto)' : ''}`, 'ok');
  scheduleRefresh(false);
}

// ---------------------------------------------------------------------------------------------------
// Phase, countdown, bets
// ---------------------------------------------------------------------------------------------------

function setPhase(phase, crashPoint) {
  state.phase = phase;
  ui.phase.dataset.phase = phase;
  ui.phase.className = `phase phase-${phase}`;
  clearInterval(state.countdownTimer);
  if (phase === 'betting') {
    const render = () => {
      const left = state.bettingEndsAt === null ? null : Math.max(0, state.bettingEndsAt - Date.now());
      ui.phase.textContent = left === null ? 'Betting open' : `Betting · ${(left / 1000).toFixed(1)} s`;
    };
    render();
    state.countdownTimer = setInterval(render, 100);
    ui.multiplier.textContent = '1.00x';
  } else if (phase === 'running') {
    ui.phase.textContent = 'Running';
  } else if (phase === 'crashed') {
    ui.phase.textContent = `Crashed at ${formatMultiplier(crashPoint)}`;
    ui.multiplier.textContent = formatMultiplier(crashPoint);
  } else {
    ui.phase.textContent = 'Waiting for the next round';
  }
  ui.multiplier.className = `multiplier multiplier-${phase}`;
  updateButtons();
}

function setPaused(paused, reason) {
  state.paused = paused;
  ui.paused.dataset.paused = String(paused);
  ui.paused.textContent = paused ? `Betting paused${reason ? `: ${reason}` : ''}` : 'Betting open';
  show(ui.paused, paused);
  updateButtons();
}

function openBets() {
  return [...state.bets.values()].filter((bet) => bet.round_id === state.roundId && bet.status === 'open');
}

function updateButtons() {
  ui.cashout.disabled = !(state.phase === 'running' && openBets().length > 0);
  ui.placeBet.disabled = state.paused;
}

const STATUS_TEXT = {
  pending: 'placing…',
  open: 'open',
  cashing_out: 'cashing out…',
  cashed_out: 'cashed out',
  lost: 'lost',
  refunded: 'refunded',
  void: 'void',
};

function renderBets() {
  const rows = [...state.bets.values()].sort((a, b) => (a.round_id - b.round_id));
  ui.myBets.replaceChildren(...rows.map((bet) => {
    let detail = '';
    if (bet.status === 'cashed_out') detail = ` at ${formatMultiplier(bet.cashout_multiplier)}, paid ${formatMicros(bet.payout)}`;
    else if (bet.auto_cashout) detail = ` · auto ${formatMultiplier(bet.auto_cashout)}`;
    return el('div', {
      class: `my-bet status-${bet.status}`,
      dataset: { testid: 'my-bet', betId: bet.bet_id, status: bet.status, round: String(bet.round_id),
        amount: String(bet.amount ?? ''), payout: String(bet.payout ?? '') },
    },
    el('span', { text: `${formatMicros(bet.amount)} on round ${bet.round_id}` }),
    el('strong', { text: ` ${STATUS_TEXT[bet.status] || bet.status}${detail}` }));
  }));
  if (rows.length === 0) ui.myBets.append(el('p', { class: 'muted', text: 'No bet in this round.' }));
  updateButtons();
}

function rememberCrash(round) {
  if (!round || round.crash_point === undefined || round.crash_point === null) return;
  if (state.recentCrashes.some((entry) => entry.round_id === round.round_id)) return;
  state.recentCrashes.unshift(round);
  state.recentCrashes.length = Math.min(state.recentCrashes.length, RECENT_CRASHES_MAX);
  renderRecentCrashes();
}

function renderRecentCrashes() {
  ui.recentCrashes.replaceChildren(...state.recentCrashes.map((round) => el('span', {
    class: `chip ${Number(round.crash_point) >= 2 ? 'chip-high' : 'chip-low'}`,
    title: round.hash ? `round ${round.round_id} · hash ${round.hash}` : `round ${round.round_id}`,
    text: formatMultiplier(round.crash_point),
  })));
}

function placeBet(submitEvent) {
  submitEvent.preventDefault();
  let amount;
  let autoCashout;
  try {
    amount = microsToJson(parseUnits(ui.amount.value));
    autoCashout = parseMultiplier(ui.autoCashout.value);
  } catch (error) {
    message.show(error.message);
    return;
  }
  const clientBetId = randomId('web-');
  clearRefusals();
  const request = { type: 'place_bet', room: state.room, amount, client_bet_id: clientBetId, request_id: clientBetId };
  if (autoCashout !== null) request.auto_cashout = autoCashout;
  if (!state.socket || !state.socket.send(request)) message.show('not connected to the game; reconnecting…');
}

function cashOut() {
  const bets = openBets();
  if (bets.length === 0) return;
  for (const bet of bets) {
    if (!state.socket || !state.socket.send({ type: 'cashout', bet_id: bet.bet_id, request_id: randomId('co-') })) {
      message.show('not connected to the game; reconnecting…');
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Balance, top-up, history
// ---------------------------------------------------------------------------------------------------

function setBalance(value) {
  showBalance(ui.balance, value);
}

async function refreshBalance() {
  if (!state.token) return;
  try {
    const answer = await api('/api/v1/wallet/balance', { token: state.token });
    setBalance(answer.balance);
  } catch (error) {
    failed(error);
  }
}

async function topUp() {
  ui.topUp.disabled = true;
  try {
    const answer = await api('/api/v1/wallet/top-up', {
      method: 'POST', token: state.token, body: { amount: microsToJson(TOP_UP_MICROS) },
      headers: { 'Idempotency-Key': randomId('topup-') },
    });
    setBalance(answer.balance);
    message.show(`topped up ${formatMicros(answer.amount)}`, 'ok');
    scheduleRefresh(false);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      show(ui.topUp, false);
      message.show('top-ups are not available on this server', 'info');
    } else {
      failed(error);
    }
  } finally {
    ui.topUp.disabled = false;
  }
}

/** Refreshes the tables (and, after a round, the balance) a moment later, once settlement is written. */
function scheduleRefresh(afterRound) {
  // A pending refresh after a round keeps its balance reload and its delay.
  const roundPending = state.refreshTimer !== null && state.refreshAfterRound;
  const withBalance = afterRound || roundPending;
  clearTimeout(state.refreshTimer);
  state.refreshAfterRound = withBalance;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    state.refreshAfterRound = false;
    refreshTables();
    if (withBalance) refreshBalance();
  }, withBalance ? 1200 : 300);
}

async function refreshTables() {
  if (!state.token) return;
  refreshLeaderboard();
  try {
    const [history, transactions] = await Promise.all([
      api(`/api/v1/history?game=crash&limit=${HISTORY_LIMIT}`, { token: state.token }),
      api(`/api/v1/wallet/transactions?limit=${HISTORY_LIMIT}`, { token: state.token }),
    ]);
    renderHistory(history.bets || []);
    renderTransactions(transactions.entries || []);
  } catch (error) {
    failed(error);
  }
}

/** The room's players by profit over the last day (public; each node caches it for a few seconds). */
async function refreshLeaderboard() {
  const room = state.room;
  try {
    const board = await api(`/api/v1/leaderboard?room=${encodeURIComponent(room)}&limit=${LEADERBOARD_LIMIT}`);
    if (room === state.room) renderLeaderboard(board);
  } catch (error) {
    failed(error);
  }
}

function cell(text, numeric = false) {
  return el('td', { class: numeric ? 'num' : undefined, text });
}

function renderHistory(bets) {
  ui.history.replaceChildren(...bets.map((bet) => el('tr', { dataset: { testid: 'history-row', status: bet.status } },
    cell(String(bet.round_id)),
    cell(bet.room),
    cell(formatMicros(bet.amount), true),
    cell(bet.auto_cashout ? formatMultiplier(bet.auto_cashout) : '–', true),
    cell(bet.cashout_multiplier ? formatMultiplier(bet.cashout_multiplier) : '–', true),
    cell(bet.crash_point ? formatMultiplier(bet.crash_point) : '–', true),
    cell(bet.payout === null || bet.payout === undefined ? '–' : formatMicros(bet.payout), true),
    cell(STATUS_TEXT[bet.status] || bet.status))));
  if (bets.length === 0) ui.history.append(el('tr', {}, el('td', { colSpan: 8, class: 'muted', text: 'No bets yet.' })));
}

function renderTransactions(entries) {
  ui.transactions.replaceChildren(...entries.map((entry) => el('tr', { dataset: { testid: 'transaction-row', kind: entry.kind } },
    cell(formatTime(entry.created_at)),
    cell(entry.kind),
    cell(entry.reference || ''),
    el('td', { class: `num ${toMicros(entry.amount) < 0n ? 'negative' : 'positive'}`, text: formatMicros(entry.amount, { sign: true }) }),
    cell(formatMicros(entry.balance_after), true))));
  if (entries.length === 0) ui.transactions.append(el('tr', {}, el('td', { colSpan: 5, class: 'muted', text: 'No transactions yet.' })));
}

function renderLeaderboard(board) {
  ui.leaderboardRoom.textContent = `· ${board.room}`;
  const entries = board.entries || [];
  ui.leaderboard.replaceChildren(...entries.map((entry) => el('tr', {
    class: entry.username === state.username ? 'me' : undefined,
    dataset: { testid: 'leaderboard-row', username: entry.username },
  },
  cell(String(entry.rank), true),
  cell(entry.username),
  cell(String(entry.bets), true),
  cell(formatMicros(entry.wagered), true),
  el('td', { class: 'num positive', text: formatMicros(entry.profit, { sign: true }) }))));
  if (entries.length === 0) {
    ui.leaderboard.append(el('tr', { dataset: { testid: 'leaderboard-empty' } },
      el('td', { colSpan: 5, class: 'muted', text: 'No winners today yet.' })));
  }
}

// ---------------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------------

ui.authForm.addEventListener('submit', (event) => {
  event.preventDefault();
  authenticate('login');
});
ui.signup.addEventListener('click', () => authenticate('signup'));
ui.logout.addEventListener('click', () => {
  // The server forgets the token too (its sockets close on every node); the page logs out either way.
  if (state.token) api('/api/v1/auth/logout', { method: 'POST', token: state.token }).catch(() => {});
  logout();
});
ui.topUp.addEventListener('click', topUp);
ui.betForm.addEventListener('submit', placeBet);
ui.cashout.addEventListener('click', cashOut);
ui.maintenanceClose.addEventListener('click', () => show(ui.maintenance, false));
window.addEventListener('gc:view', (event) => {
  if (event.detail.view === 'crash') enterRoom(event.detail.code);
});

if (sessionStorage.getItem(TOKEN_KEY)) enterGame();
