// A crash game player over the WebSocket (`GET /ws?token=JWT&room=ROOM`, see README.md "WebSocket
// protocol"): bets in most rounds, cashes out automatically or by hand, and measures what a player feels.
//
// k6/ws (the blocking WebSocket API) is used: k6 v1.1.0 has no `k6/websockets` module yet (only
// `k6/experimental/websockets`), while `k6/ws` exists in every k6 release.

import ws from 'k6/ws';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { AMOUNT, ROOM, WS_URL, envFloat, envInt, envString } from './config.js';
import { player, uniqueKey } from './players.js';

// What the player does (environment variables, documented in the scripts that use this module).
const BET_PROBABILITY = envFloat('BET_PROBABILITY', 0.8, 0, 1);
const AUTO_CASHOUT_PROBABILITY = envFloat('AUTO_CASHOUT_PROBABILITY', 0.5, 0, 1);
const CASHOUT_MIN = envFloat('CASHOUT_MIN', 1.1, 1.01, 1000);
const CASHOUT_MAX = envFloat('CASHOUT_MAX', 3.0, CASHOUT_MIN, 1000);
const BET_DELAY_MAX_MS = envInt('BET_DELAY_MAX_MS', 1500, 0, 60000);
const ACK_TIMEOUT_MS = envInt('ACK_TIMEOUT_MS', 10000, 100, 600000);
// Refused requests that are a normal outcome of racing the round's clock, not a server fault.
const EXPECTED_ERRORS = envString('EXPECTED_ERRORS', 'round_crashed,round_not_running,betting_closed').split(',');
// No bet is sent this close to the end of a session, so its answer is not cut off by our own close.
const BET_CUTOFF_MS = 3000;

/** Receipt time minus the server's `ts` in each tick (same clock on loopback; skew counts remotely). */
export const tickDelivery = new Trend('tick_delivery_ms', true);
/** From sending `place_bet` to its `bet_placed` or `error` (matched by request_id). */
export const betAck = new Trend('bet_ack_ms', true);
/** From sending `cashout` to its `cashed_out` or `error` (matched by request_id). */
export const cashoutAck = new Trend('cashout_ack_ms', true);
/** Share of answers that were unexpected errors, unanswered requests or abnormal closes. */
export const wsErrors = new Rate('ws_errors');
/** Refusals that are normal races (tagged with `code`): a cashout after the crash, a bet after betting closed. */
export const wsRaceErrors = new Counter('ws_race_errors');
export const betsPlaced = new Counter('bets_placed');
/**
 * Betting windows a player could bet in (a round start or a join during betting, early enough before the
 * session's end). How many there are depends on how long the rounds run, which is the crash point's:
 * a run with windows but no bet placed is a failure, a run without windows says so (scripts/loadtest.sh).
 */
export const bettingWindows = new Counter('betting_windows');
/** Cashouts credited to us, tagged `auto` true/false. */
export const cashouts = new Counter('cashouts');

const UNEXPECTED_LOG_MAX = 5;
let unexpectedLogged = 0;

function logUnexpected(what) {
  if (unexpectedLogged < UNEXPECTED_LOG_MAX) {
    unexpectedLogged += 1;
    console.warn(`VU ${__VU}: ${what}`);
  }
}

function randomMultiplier() {
  return Number((CASHOUT_MIN + Math.random() * (CASHOUT_MAX - CASHOUT_MIN)).toFixed(2));
}

/** One WebSocket session's view: the current round, our bet in it, requests waiting for answers. */
function newState(data, me, deadlineMs) {
  return { data, me, deadlineMs, roundId: null, bet: null, pending: {}, requestSeq: 0 };
}

function send(socket, state, kind, message) {
  state.requestSeq += 1;
  const requestId = `q${state.requestSeq}`;
  state.pending[requestId] = { kind, sentAt: Date.now() };
  socket.send(JSON.stringify(Object.assign(message, { request_id: requestId })));
}

function placeBet(socket, state, roundId) {
  if (state.roundId !== roundId || state.bet !== null) return;
  if (state.deadlineMs - Date.now() < BET_CUTOFF_MS) return;
  const auto = Math.random() < AUTO_CASHOUT_PROBABILITY;
  const clientBetId = uniqueKey(state.data, 'b');
  const message = { type: 'place_bet', room: ROOM, amount: AMOUNT, client_bet_id: clientBetId };
  if (auto) message.auto_cashout = randomMultiplier();
  state.bet = { roundId, clientBetId, id: null, target: auto ? null : randomMultiplier(), cashoutSent: false };
  send(socket, state, 'bet', message);
}

/** Decides whether to bet in this round and when, within the first part of the betting window. */
function considerBet(socket, state, roundId, windowMs) {
  if (state.deadlineMs - Date.now() < BET_CUTOFF_MS) return;
  bettingWindows.add(1);
  if (Math.random() >= BET_PROBABILITY) return;
  const spreadMs = Math.max(0, Math.min(BET_DELAY_MAX_MS, windowMs / 2));
  // k6/ws timers refuse a zero delay.
  socket.setTimeout(() => placeBet(socket, state, roundId), Math.max(1, Math.random() * spreadMs));
}

function considerCashout(socket, state, multiplier) {
  const bet = state.bet;
  if (bet === null || bet.id === null || bet.target === null || bet.cashoutSent) return;
  if (typeof multiplier !== 'number' || multiplier < bet.target) return;
  bet.cashoutSent = true;
  send(socket, state, 'cashout', { type: 'cashout', bet_id: bet.id });
}

/** Takes the answer to one of our requests; returns its kind, or null when it answers nothing of ours. */
function answer(state, requestId, now) {
  const request = requestId ? state.pending[requestId] : undefined;
  if (request === undefined) return null;
  delete state.pending[requestId];
  (request.kind === 'bet' ? betAck : cashoutAck).add(now - request.sentAt);
  return request.kind;
}

function onError(state, message, now) {
  const kind = answer(state, message.request_id, now);
  if (kind === 'bet') state.bet = null;
  const expected = EXPECTED_ERRORS.includes(message.code);
  wsErrors.add(!expected);
  if (expected) {
    wsRaceErrors.add(1, { code: message.code });
  } else {
    logUnexpected(`error ${message.code} (${message.message}) answering ${kind || 'nothing of ours'}`);
  }
}

/** Adopts the round of an `initial_state` or `resync` and our open bet in it, if any. */
function adoptState(socket, state, snapshot) {
  state.roundId = snapshot.round_id === undefined ? null : snapshot.round_id;
  const mine = (snapshot.my_bets || []).find(
    (bet) => bet.round_id === state.roundId && (bet.status === 'open' || bet.status === 'pending'),
  );
  if (mine !== undefined) {
    const kept = state.bet !== null && state.bet.id === mine.bet_id ? state.bet : null;
    state.bet = kept || {
      roundId: mine.round_id,
      clientBetId: mine.client_bet_id,
      id: mine.bet_id,
      target: mine.auto_cashout === null ? randomMultiplier() : null,
      cashoutSent: false,
    };
  } else if (state.bet !== null && state.bet.roundId !== state.roundId) {
    state.bet = null;
  }
  if (snapshot.phase === 'betting' && state.bet === null && snapshot.betting_ends_in_ms !== undefined) {
    considerBet(socket, state, state.roundId, snapshot.betting_ends_in_ms);
  }
}

function onMessage(socket, state, text) {
  const now = Date.now();
  let message;
  try {
    message = JSON.parse(text);
  } catch (_) {
    wsErrors.add(true);
    logUnexpected(`unparsable frame: ${text.slice(0, 80)}`);
    return;
  }
  switch (message.type) {
    case 'tick':
      if (typeof message.ts === 'number') tickDelivery.add(now - message.ts);
      state.roundId = message.round_id;
      considerCashout(socket, state, message.multiplier);
      break;
    case 'round_start':
      state.roundId = message.round_id;
      state.bet = null;
      considerBet(socket, state, message.round_id, message.betting_ms);
      break;
    case 'round_running':
      state.roundId = message.round_id;
      break;
    case 'crash':
    case 'round_aborted':
      state.bet = null;
      break;
    case 'initial_state':
      if (typeof message.balance === 'number') state.me.balance = message.balance;
      adoptState(socket, state, message);
      break;
    case 'resync':
      adoptState(socket, state, message.state || {});
      break;
    case 'bet_placed': {
      if (answer(state, message.request_id, now) === null) break;
      wsErrors.add(false);
      betsPlaced.add(1);
      check(message, { 'bet_placed carries our stake': (m) => m.bet && m.bet.amount === AMOUNT });
      if (state.bet !== null && message.bet && state.bet.clientBetId === message.bet.client_bet_id) {
        state.bet.id = message.bet.bet_id;
      }
      if (typeof message.balance === 'number') state.me.balance = message.balance;
      break;
    }
    case 'cashed_out':
      if (answer(state, message.request_id, now) !== null) wsErrors.add(false);
      cashouts.add(1, { auto: String(message.auto === true) });
      if (typeof message.balance === 'number') state.me.balance = message.balance;
      if (state.bet !== null && state.bet.id === message.bet_id) state.bet = null;
      break;
    case 'error':
      onError(state, message, now);
      break;
    default:
      // pong, balance and anything newer: nothing to measure.
      break;
  }
}

/** Requests unanswered for ACK_TIMEOUT_MS count as errors (a lost answer is a server fault). */
function expireRequests(state) {
  const now = Date.now();
  for (const [requestId, request] of Object.entries(state.pending)) {
    if (now - request.sentAt > ACK_TIMEOUT_MS) {
      delete state.pending[requestId];
      wsErrors.add(true);
      logUnexpected(`no answer to a ${request.kind} within ${ACK_TIMEOUT_MS} ms`);
    }
  }
}

/**
 * One WebSocket session until `deadlineMs` (epoch ms) or until the server closes it. Returns the close
 * code (1000 when we closed it at the deadline, null when the connection failed).
 */
export function crashSession(data, me, deadlineMs) {
  const url = `${WS_URL}?token=${encodeURIComponent(me.token)}&room=${encodeURIComponent(ROOM)}`;
  const state = newState(data, me, deadlineMs);
  let closeCode = null;
  let closing = false;
  const response = ws.connect(url, { tags: { name: 'ws_connect' } }, (socket) => {
    socket.on('message', (text) => {
      try {
        onMessage(socket, state, text);
      } catch (error) {
        // A frame our code could not handle: count it rather than lose the whole session.
        wsErrors.add(true);
        logUnexpected(`could not handle ${text.slice(0, 80)}: ${error}`);
      }
    });
    socket.on('close', (code) => {
      closeCode = code;
    });
    socket.on('error', (error) => {
      const text = String(error.error());
      // A close frame from the server surfaces here too; the close code is judged once, below.
      if (closing || text.startsWith('websocket: close ')) return;
      wsErrors.add(true);
      logUnexpected(`socket error: ${text}`);
    });
    socket.setInterval(() => expireRequests(state), 1000);
    socket.setTimeout(() => {
      closing = true;
      socket.close(1000);
    }, Math.max(1, deadlineMs - Date.now()));
  });
  check(response, { 'websocket upgraded (101)': (r) => r !== undefined && r.status === 101 });
  if (response === undefined || response.status !== 101) return null;
  // 1000: our close at the deadline; 1001: the node is going away (drain), reconnecting is the protocol.
  if (!closing && closeCode !== 1001) {
    wsErrors.add(true);
    logUnexpected(`socket closed by the server with ${closeCode}`);
  }
  return closeCode;
}

/**
 * A VU's body for a crash scenario with stages [ramp, hold]: connects (and reconnects after a close)
 * until the end of the hold stage, then idles until k6 stops the scenario.
 */
export function crashPlayer(data, rampMs, holdMs) {
  const deadlineMs = exec.scenario.startTime + rampMs + holdMs;
  if (deadlineMs - Date.now() < BET_CUTOFF_MS) {
    sleep(1);
    return;
  }
  // Refill below 20 stakes (with FUND=1); a session never tops up, so it is never blocked by HTTP.
  const me = player(data, 'c', AMOUNT * 20);
  const closeCode = crashSession(data, me, deadlineMs);
  if (closeCode !== 1000 && closeCode !== 1001) sleep(1);
}
