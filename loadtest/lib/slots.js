// Slot players over REST (README.md "Slots"): a game session (`POST /api/v1/game/init`), paid spins
// (`POST /api/v1/spin`), bonus rounds revealed free spin by free spin (`POST /api/v1/bonus/trigger`
// `action: "spin"`), now and then a bought bonus (`action: "buy_feature"`). A VU plays its player alone,
// so the money is checked on every answer: while a round is open the balance is the one before it minus
// the stake; once it has finished, minus the stake plus the round's total win, which must also equal the
// sum of the wins its steps showed. A request that got no answer (a network error, or a 502/503/504 of
// nginx) is sent again with the same Idempotency-Key, which must not move money twice.

import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { BASE_URL, envFloat, envInt, envString } from './config.js';
import { balanceMismatches, errorCode, params, player, uniqueKey } from './players.js';

/** The games played, one chosen per session. */
const SLOT_GAMES = envString('SLOT_GAMES', 'fortune-lines,gem-cascade')
  .split(',')
  .map((game) => game.trim())
  .filter((game) => game !== '');
/** Base bet in micro-units: one of the server's bet levels (0.10 by default, the smallest). */
export const SLOT_BET_MICROS = envInt('SLOT_BET_MICROS', 100000, 1, 1e15);
/** Chance per paid round of buying the bonus (100 bets) instead of spinning. */
const BUY_PROBABILITY = envFloat('BUY_PROBABILITY', 0.005, 0, 1);
/** Paid rounds a session plays before the player opens a new one. */
const SESSION_ROUNDS_MAX = envInt('SESSION_ROUNDS_MAX', 500, 1, 1e9);
/** Attempts of one request that got no answer, all with the same Idempotency-Key. */
const ATTEMPTS_MAX = envInt('SLOT_ATTEMPTS_MAX', 4, 1, 20);
/** Reveals one round may need at most before the script gives up on it (the engine caps far lower). */
const REVEALS_MAX = 1000;
/** What a bought bonus costs in bets (fortune-lines and gem-cascade: 100). */
const BUY_COST_BETS = 100;
// Statuses that mean the request may not have reached the server or its answer was lost.
const RETRY_STATUSES = [0, 502, 503, 504];

if (SLOT_GAMES.length === 0) throw new Error('SLOT_GAMES must name at least one game');

/** Paid rounds answered, tagged with `game` and `kind` (`spin` or `buy`). */
export const slotRounds = new Counter('slot_rounds');
/** Free spins revealed through bonus/trigger. */
export const slotReveals = new Counter('slot_reveals');
/** Retries of a request with the same Idempotency-Key after no answer. */
export const slotRetries = new Counter('slot_retries');

/**
 * The benchmark window: spins answered 200 inside it are counted in `bench_spins` and timed in
 * `bench_spin_ms`, so the ramp, the sign-ups and the wind-down stay out of the figures.
 */
export const benchSpins = new Counter('bench_spins');
export const benchSpinMs = new Trend('bench_spin_ms', true);

// This VU's game session: {game, id, rounds}.
let session = null;

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

/**
 * POSTs `body` to `path`; with `key`, resends it with that same key while no answer comes back (up to
 * ATTEMPTS_MAX). Statuses in `expected` besides 200 are answers, not failures. Returns the last
 * response and whether it was a retry (whose answer may then say `replayed`).
 */
function post(me, path, name, body, key, expected) {
  const headers = key ? { 'Idempotency-Key': key } : {};
  const statuses = [200].concat(expected || []);
  const request = params(me.token, name, statuses, headers);
  let response = null;
  for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt += 1) {
    response = http.post(`${BASE_URL}${path}`, JSON.stringify(body), request);
    if (!key || !RETRY_STATUSES.includes(response.status)) return { response, retried: attempt > 1 };
    slotRetries.add(1, { name });
    console.warn(`VU ${__VU}: ${name} got ${response.status} ${response.error || ''}; retry ${attempt} with key ${key}`);
    sleep(0.2 * attempt);
  }
  return { response, retried: true };
}

/** Checks an answer's balance against what the money so far implies; keeps it as the player's balance. */
function expectBalance(me, answer, expected, what) {
  if (expected !== null) {
    const ok = check(answer, { 'slot balance = before - stake (+ total win once finished)': (a) => a.balance === expected });
    if (!ok) {
      balanceMismatches.add(1);
      console.error(`VU ${__VU} ${me.username}: ${what}: balance ${answer.balance}, expected ${expected}`);
    }
  }
  me.balance = answer.balance;
}

/** Opens a session of a random game; finishes the round the player left open, if any. */
function openSession(data, me) {
  const game = pick(SLOT_GAMES);
  const body = { game_id: game, platform: 'k6', locale: 'en', client_version: '1.0.0' };
  const { response } = post(me, '/api/v1/game/init', 'slot_init', body, null);
  if (!check(response, { 'slot_init answered 200': (r) => r.status === 200 })) {
    console.warn(`VU ${__VU}: slot_init ${response.status} ${errorCode(response)}`);
    session = null;
    return false;
  }
  const answer = response.json();
  check(answer, { 'slot_init has bet levels': (a) => a.game && Array.isArray(a.game.bet_levels) && a.game.bet_levels.includes(SLOT_BET_MICROS) });
  session = { game, id: answer.session_id, rounds: 0 };
  me.balance = answer.balance;
  const open = answer.unfinished_round;
  if (open && open.next_state === 'free_spins') {
    // A round an interrupted run left open (same RUN_ID): reveal the rest; its stake is already gone.
    playRound(data, me, open, me.balance, true);
  }
  return true;
}

/**
 * Checks one step answer of the round `first` started: same round, the next step, the running sum of
 * step wins, and the balance. Returns false when the round cannot be followed any further.
 */
function followStep(me, round, answer, what) {
  const sameRound = check(answer, {
    'slot step belongs to its round': (a) => a.spin_id === round.id,
    'slot steps come in order': (a) => a.outcome && a.outcome.step === round.step,
  });
  if (!sameRound) {
    me.balance = null;
    return false;
  }
  round.wins += answer.outcome.win;
  const finished = answer.round.finished === true;
  check(answer, {
    'slot next_state follows the round': (a) => a.next_state === (finished ? 'base_game' : 'free_spins'),
  });
  if (finished) {
    const total = answer.round.total_win;
    check(answer, { 'slot total_win = sum of the step wins': () => total === round.wins });
    const expected = round.before === null ? null : round.before - round.stake + total;
    expectBalance(me, answer, expected, `${what} ${round.id} finished`);
  } else {
    // The stake is taken at the spin; nothing is paid until the round ends.
    const expected = round.before === null ? null : round.before - round.stake;
    expectBalance(me, answer, expected, `${what} ${round.id} step ${round.step}`);
  }
  return true;
}

/**
 * Follows a round from its first answer to its end, revealing free spins one by one with a think
 * pause between them. `resumed`: a round found open at init, whose earlier steps were not seen here
 * (so only the balance of its end is checked, not the sum of its step wins).
 */
function playRound(data, me, first, before, resumed, thinkMs) {
  const round = { id: first.spin_id, stake: first.stake, before: resumed ? null : before, step: first.outcome.step, wins: 0 };
  if (resumed) {
    round.wins = first.round.running_win - first.outcome.win;
    me.balance = null;
  }
  if (!followStep(me, round, first, 'round')) return;
  let answer = first;
  for (let reveal = 0; answer.next_state === 'free_spins' && reveal < REVEALS_MAX; reveal += 1) {
    think(thinkMs);
    round.step += 1;
    const body = { session_id: session.id, game_id: session.game, action: 'spin', bonus_round_id: round.id };
    const { response } = post(me, '/api/v1/bonus/trigger', 'slot_reveal', body, uniqueKey(data, 'v'));
    if (!check(response, { 'slot_reveal answered 200': (r) => r.status === 200 })) {
      console.warn(`VU ${__VU}: slot_reveal ${response.status} ${errorCode(response)}`);
      me.balance = null;
      return;
    }
    answer = response.json();
    slotReveals.add(1, { game: session.game });
    if (!followStep(me, round, answer, 'reveal')) return;
  }
}

function think(thinkMs) {
  if (thinkMs > 0) sleep((Math.random() * 2 * thinkMs) / 1000);
}

/** Whether `now` (ms) is inside the benchmark window of `data` (none outside a benchmark). */
function inBenchWindow(data, now) {
  return data.benchFromMs !== undefined && now >= data.benchFromMs && now < data.benchUntilMs;
}

/**
 * One paid round of a slot player: a spin (or, with BUY_PROBABILITY, a bought bonus) played to its
 * end, then a pause of `thinkMs` on average (uniform from 0 to twice that) before each request.
 */
export function slotPlayer(data, thinkMs) {
  // Enough for a bought bonus and some spins: the top-up (FUND_AMOUNT, 1,000 units) lasts a long time.
  const me = player(data, 's', SLOT_BET_MICROS * (BUY_COST_BETS + 20));
  if (session === null || session.rounds >= SESSION_ROUNDS_MAX) {
    if (!openSession(data, me)) {
      sleep(1);
      return;
    }
    if (me.balance === null || me.balance < SLOT_BET_MICROS * (BUY_COST_BETS + 20)) return; // player() tops up next time
  }
  think(thinkMs);
  const buy = Math.random() < BUY_PROBABILITY;
  const kind = buy ? 'buy' : 'spin';
  const name = buy ? 'slot_buy' : 'slot_spin';
  const path = buy ? '/api/v1/bonus/trigger' : '/api/v1/spin';
  const body = buy
    ? { session_id: session.id, game_id: session.game, action: 'buy_feature', feature_id: 'bonus', bet: { amount: SLOT_BET_MICROS } }
    : { session_id: session.id, game_id: session.game, bet: { amount: SLOT_BET_MICROS } };
  const before = me.balance;
  const started = Date.now();
  // 409 round_in_progress and 410 session_expired/closed are handled here, not counted as failures.
  const { response, retried } = post(me, path, name, body, uniqueKey(data, buy ? 'b' : 's'), [409, 410]);
  const ended = Date.now();
  if (response.status === 409 || response.status === 410) {
    console.warn(`VU ${__VU}: ${name} ${response.status} ${errorCode(response)}: opening a new session`);
    session = null;
    return;
  }
  if (!check(response, { [`${name} answered 200`]: (r) => r.status === 200 })) {
    console.warn(`VU ${__VU}: ${name} ${response.status} ${errorCode(response)}`);
    me.balance = null;
    return;
  }
  const answer = response.json();
  session.rounds += 1;
  slotRounds.add(1, { game: session.game, kind });
  if (!buy && inBenchWindow(data, ended)) {
    benchSpins.add(1);
    benchSpinMs.add(ended - started);
  }
  check(answer, {
    'slot stake is the bet times the mode': (a) => a.stake === (buy ? SLOT_BET_MICROS * BUY_COST_BETS : SLOT_BET_MICROS),
    // A retry's answer may be the first attempt's round, replayed; a first attempt's never is.
    'a new paid round is not a replay': (a) => retried || a.replayed === false,
  });
  if (buy) check(answer, { 'a bought bonus starts in free spins': (a) => a.next_state === 'free_spins' });
  playRound(data, me, answer, before, false, thinkMs);
}
