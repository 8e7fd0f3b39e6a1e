// REST players of Dice, Plinko and Mines (README.md "Dice, Plinko and Mines"). Every bet carries a
// fresh Idempotency-Key; a VU plays one player sequentially, so each answer's balance must equal the
// previous balance minus the stake plus the payout, which the checks verify.

import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { AMOUNT, BASE_URL, envFloat, envInt } from './config.js';
import { balanceMismatches, errorCode, params, player, uniqueKey } from './players.js';

// Share of each game among an instant player's bets (normalized), and the Mines behaviour.
const DICE_WEIGHT = envFloat('DICE_WEIGHT', 0.5, 0, 1000);
const PLINKO_WEIGHT = envFloat('PLINKO_WEIGHT', 0.3, 0, 1000);
const MINES_WEIGHT = envFloat('MINES_WEIGHT', 0.2, 0, 1000);
const MINES_MAX = envInt('MINES_MAX', 5, 1, 24);
const MINES_CLICKS_MAX = envInt('MINES_CLICKS_MAX', 4, 1, 24);
/** Mean pause between a player's requests, in ms (uniform from 0 to twice this); null: the script's default. */
const THINK_MS = envInt('THINK_MS', null, 0, 600000);
const THINK_MS_DEFAULT = 500;
// The pause of the current iteration (THINK_MS, else the default the script passed to instantPlayer).
let thinkMs = THINK_MS_DEFAULT;

if (DICE_WEIGHT + PLINKO_WEIGHT + MINES_WEIGHT <= 0) {
  throw new Error('DICE_WEIGHT, PLINKO_WEIGHT and MINES_WEIGHT must not all be 0');
}

/** Finished Dice, Plinko and Mines games, tagged with `game`. */
export const instantBets = new Counter('instant_bets');

function think() {
  if (thinkMs > 0) sleep((Math.random() * 2 * thinkMs) / 1000);
}

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

/** POSTs a JSON body; `key` adds an Idempotency-Key (bets). Returns the parsed answer or null. */
function post(me, path, name, body, key) {
  const headers = key ? { 'Idempotency-Key': key } : {};
  const response = http.post(`${BASE_URL}${path}`, JSON.stringify(body), params(me.token, name, [200], headers));
  const ok = check(response, { [`${name} answered 200`]: (r) => r.status === 200 });
  if (!ok) {
    console.warn(`VU ${__VU}: ${name} ${response.status} ${errorCode(response)}`);
    return null;
  }
  return response.json();
}

/** Checks that `answer.balance` is `expected` (when the previous balance is known) and keeps it. */
function followBalance(me, answer, expected, what) {
  if (me.balance !== null && expected !== null) {
    const ok = check(answer, { 'balance moved by exactly the payout minus the stake': (a) => a.balance === expected });
    if (!ok) {
      balanceMismatches.add(1);
      console.error(`VU ${__VU}: ${what}: balance ${answer.balance}, expected ${expected}`);
    }
  }
  me.balance = answer.balance;
}

/** Settles a one-request game (Dice or Plinko) answer. */
function settled(me, game, answer) {
  if (answer === null) {
    me.balance = null;
    return;
  }
  const bet = answer.bet;
  check(bet, { [`${game} bet settled`]: (b) => b.status === 'settled' && b.payout !== null });
  const expected = me.balance === null ? null : me.balance - bet.amount + bet.payout;
  followBalance(me, answer, expected, `${game} bet ${bet.id}`);
  instantBets.add(1, { game });
}

export function playDice(data, me) {
  const body = {
    amount: AMOUNT,
    // 5.00 to 94.99: every win chance stays inside the 0.01%-98% the server accepts.
    target: (500 + Math.floor(Math.random() * 9000)) / 100,
    direction: pick(['over', 'under']),
  };
  settled(me, 'dice', post(me, '/api/v1/dice/roll', 'dice_roll', body, uniqueKey(data, 'd')));
}

export function playPlinko(data, me) {
  const body = { amount: AMOUNT, rows: 8 + Math.floor(Math.random() * 9), risk: pick(['low', 'medium', 'high']) };
  settled(me, 'plinko', post(me, '/api/v1/plinko/drop', 'plinko_drop', body, uniqueKey(data, 'p')));
}

/** Clicks until a mine, the click budget or the game's end, then cashes out if still open. */
function finishMines(me, bet, clicks, startBalance) {
  const unrevealed = [];
  for (let tile = 0; tile < 25; tile += 1) {
    if (!(bet.result.revealed || []).includes(tile)) unrevealed.push(tile);
  }
  let current = bet;
  let answer = null;
  for (let i = 0; i < clicks && current.status === 'open' && unrevealed.length > 0; i += 1) {
    think();
    const tile = unrevealed.splice(Math.floor(Math.random() * unrevealed.length), 1)[0];
    answer = post(me, '/api/v1/mines/click', 'mines_click', { game_id: current.id, tile });
    if (answer === null) {
      me.balance = null;
      return;
    }
    current = answer.bet;
  }
  if (current.status === 'open') {
    think();
    answer = post(me, '/api/v1/mines/cashout', 'mines_cashout', { game_id: current.id });
    if (answer === null) {
      me.balance = null;
      return;
    }
    current = answer.bet;
  }
  check(current, { 'mines game settled': (b) => b.status === 'settled' && b.payout !== null });
  if (answer !== null) {
    const expected = startBalance === null ? null : startBalance - current.amount + current.payout;
    followBalance(me, answer, expected, `mines game ${current.id}`);
  }
  instantBets.add(1, { game: 'mines' });
}

export function playMines(data, me) {
  const startBalance = me.balance;
  const body = { amount: AMOUNT, mines: 1 + Math.floor(Math.random() * MINES_MAX) };
  const headers = { 'Idempotency-Key': uniqueKey(data, 'm') };
  // 409 is not counted as a failed request: `game_in_progress` is handled below, any other 409 fails the check.
  const response = http.post(`${BASE_URL}/api/v1/mines/bet`, JSON.stringify(body), params(me.token, 'mines_bet', [200, 409], headers));
  if (response.status === 409 && errorCode(response) === 'game_in_progress') {
    // A game left open by an interrupted iteration (a previous run with the same RUN_ID): finish it.
    const active = http.get(`${BASE_URL}/api/v1/mines/active`, params(me.token, 'mines_active'));
    const bet = active.status === 200 ? active.json('bet') : null;
    me.balance = null;
    if (bet) finishMines(me, bet, 1, null);
    return;
  }
  if (!check(response, { 'mines_bet answered 200': (r) => r.status === 200 })) {
    console.warn(`VU ${__VU}: mines_bet ${response.status} ${errorCode(response)}`);
    me.balance = null;
    return;
  }
  const answer = response.json();
  followBalance(me, answer, startBalance === null ? null : startBalance - AMOUNT, 'mines stake');
  finishMines(me, answer.bet, 1 + Math.floor(Math.random() * MINES_CLICKS_MAX), startBalance);
}

/**
 * One iteration of an instant player: one game chosen by weight, then a pause. `defaultThinkMs` is the
 * mean pause when THINK_MS is not set (500 ms unless the script says otherwise).
 */
export function instantPlayer(data, defaultThinkMs) {
  thinkMs = THINK_MS !== null ? THINK_MS : defaultThinkMs === undefined ? THINK_MS_DEFAULT : defaultThinkMs;
  const me = player(data, 'i', AMOUNT * 20);
  const roll = Math.random() * (DICE_WEIGHT + PLINKO_WEIGHT + MINES_WEIGHT);
  if (roll < DICE_WEIGHT) playDice(data, me);
  else if (roll < DICE_WEIGHT + PLINKO_WEIGHT) playPlinko(data, me);
  else playMines(data, me);
  think();
}
