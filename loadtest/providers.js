// An outside studio's traffic on the seamless wallet (docs/PROVIDERS.md), through nginx: each VU is one
// player who launches a session of the provider simulator's game from the lobby, and the studio's calls
// for that player, signed as the generic protocol wants (HMAC-SHA256 of "{timestamp}.{body}"): rounds of
// one or two bets, a win (often zero) that closes the round or an explicit end, now and then a rollback,
// a duplicate copy of a call, or a rollback sent before its bet (which must then be refused). A call
// without an answer (network error, 502/503/504) is sent again with the same transaction id. Every
// answer's balance is checked against the VU's own record of what the answers before it said.
//
// The provider and its game must exist: `game-cluster provider-sim` registers them (scripts/smoke-load.sh
// runs it first), with the secret in PROVIDER_SECRET.
//
//   SCRIPT=providers.js scripts/loadtest.sh -e VUS=50 -e DURATION=1m
//
// Environment (defaults in brackets):
//   BASE_URL          the cluster's public address [http://127.0.0.1:8080]; non-loopback needs ALLOW_REMOTE=1
//   VUS               players [20]
//   RAMP              time to reach VUS players [5s]
//   DURATION          time at VUS players after the ramp [20s]
//   THINK_MS          mean pause between rounds, uniform 0..2x [200]
//   PROVIDER_ID       the provider [sim-studio]
//   PROVIDER_SECRET   its HMAC secret [provider-sim-secret-for-development-only]
//   PROVIDER_GAME     the game's catalog code [sim_fruits]
//   BET_MICROS        the stake of one bet [100000]
//   PROVIDER_ATTEMPTS_MAX  attempts of a call that got no answer [4]
//   RUN_ID, PASSWORD, USERS_FILE, FUND, FUND_AMOUNT   players and funding, as in crash-players.js
//   Thresholds: HTTP_P99_MS (p99 of every provider call) [250], balance_mismatches none,
//               provider_rounds > 0, HTTP_FAILED_MAX [0.01], CHECKS_MIN [0.99]

import http from 'k6/http';
import crypto from 'k6/crypto';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, envDuration, envInt, envString } from './lib/config.js';
import { balanceMismatches, errorCode, params, player, preflight, uniqueKey } from './lib/players.js';
import { SUMMARY_TREND_STATS, SYSTEM_TAGS, commonThresholds, httpThresholds } from './lib/thresholds.js';

const VUS = envInt('VUS', 20, 1, 100000);
const RAMP = envDuration('RAMP', '5s');
const DURATION = envDuration('DURATION', '20s');
const THINK_MS = envInt('THINK_MS', 200, 0, 600000);
const PROVIDER_ID = envString('PROVIDER_ID', 'sim-studio');
const SECRET = envString('PROVIDER_SECRET', 'provider-sim-secret-for-development-only');
const GAME = envString('PROVIDER_GAME', 'sim_fruits');
const BET_MICROS = envInt('BET_MICROS', 100000, 1, 1e15);
const ATTEMPTS_MAX = envInt('PROVIDER_ATTEMPTS_MAX', 4, 1, 20);
const RETRY_STATUSES = [0, 502, 503, 504];
const CALLS = ['rgs_bet', 'rgs_win', 'rgs_rollback', 'rgs_end_round', 'rgs_balance'];

const providerRounds = new Counter('provider_rounds');
const providerRetries = new Counter('provider_retries');

export const options = {
  scenarios: {
    providers: {
      executor: 'ramping-vus',
      exec: 'providers',
      startVUs: 0,
      stages: [
        { duration: RAMP.text, target: VUS },
        { duration: DURATION.text, target: VUS },
      ],
      gracefulStop: '15s',
    },
  },
  thresholds: Object.assign(commonThresholds(), httpThresholds(CALLS), { provider_rounds: ['count>0'] }),
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '60s',
};

export function setup() {
  const data = preflight([]);
  const lobby = http.get(`${BASE_URL}/api/v1/games?provider=${PROVIDER_ID}&limit=200`, params(null, 'lobby'));
  const game = lobby.status === 200 ? (lobby.json('games') || []).find((g) => g.code === GAME) : undefined;
  if (!game) throw new Error(`the lobby has no game ${GAME} of ${PROVIDER_ID}: run game-cluster provider-sim first`);
  data.gameId = game.id;
  return data;
}

const seats = {};

/** This VU's player and launched session (one per VU lifetime). */
function seat(data) {
  if (seats.current) return seats.current;
  const current = player(data, 'v', 100 * BET_MICROS);
  const me = http.get(`${BASE_URL}/api/v1/me`, params(current.token, 'me'));
  const launch = http.post(`${BASE_URL}/api/v1/games/${data.gameId}/launch`, '{}', params(current.token, 'launch', [201]));
  const ok = check(launch, { 'launch answered 201': (r) => r.status === 201 });
  if (!ok || me.status !== 200) {
    sleep(1);
    throw new Error(`launch failed: ${launch.status} ${errorCode(launch)}`);
  }
  seats.current = { id: me.json('id'), player: current, token: launch.json('token'), round: 0 };
  return seats.current;
}

/** Sends one signed call, again after no answer; the last response. */
function call(operation, body) {
  const text = JSON.stringify(body);
  let response = null;
  for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt += 1) {
    if (attempt > 1) {
      providerRetries.add(1);
      sleep(0.05 + Math.random() * 0.2);
    }
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = crypto.hmac('sha256', SECRET, `${timestamp}.${text}`, 'hex');
    response = http.post(`${BASE_URL}/rgs/${PROVIDER_ID}/${operation}`, text, {
      headers: { 'Content-Type': 'application/json', 'X-Rgs-Timestamp': timestamp, 'X-Rgs-Signature': signature },
      tags: { name: `rgs_${operation}` },
      responseCallback: http.expectedStatuses(200, 409, 422),
      timeout: '10s',
    });
    if (!RETRY_STATUSES.includes(response.status)) return response;
  }
  return response;
}

function answer(response) {
  try {
    return response.json();
  } catch (_) {
    return {};
  }
}

/** Checks an answer's balance against the record; counts a mismatch. */
function expectBalance(s, what, body) {
  if (body.balance !== s.balance) {
    balanceMismatches.add(1);
    console.error(`${what}: the wallet says ${body.balance}, the record says ${s.balance}`);
  }
}

export function providers(data) {
  const s = seat(data);
  if (s.balance === undefined) {
    const opening = answer(call('balance', { player_id: s.id }));
    s.balance = opening.balance;
  }
  s.round += 1;
  const round = `${uniqueKey(data, 'r')}`;
  const bets = [];
  const count = Math.random() < 0.2 ? 2 : 1;
  for (let index = 0; index < count; index += 1) {
    const transaction = `${round}-b${index}`;
    const body = {
      player_id: s.id, token: s.token, game_code: GAME, round_id: round, transaction_id: transaction,
      amount: BET_MICROS, currency: 'USD',
    };
    if (Math.random() < 0.02) {
      // A rollback that overtakes its bet: success, then the bet is refused and never debited.
      const early = answer(call('rollback', { player_id: s.id, transaction_id: `${transaction}-x`, bet_transaction_id: transaction }));
      check(early, { 'early rollback ok': (b) => b.status === 'ok' });
      const late = answer(call('bet', body));
      check(late, { 'a bet after its rollback is refused': (b) => b.status === 'transaction_rolled_back' });
      expectBalance(s, 'late bet', late);
      continue;
    }
    const first = answer(call('bet', body));
    if (check(first, { 'bet ok': (b) => b.status === 'ok' })) {
      s.balance -= BET_MICROS;
      bets.push(transaction);
    }
    expectBalance(s, 'bet', first);
    if (Math.random() < 0.05) {
      const copy = answer(call('bet', body));
      check(copy, { 'a duplicate bet repeats the first answer': (b) => b.status === first.status && b.replayed === true });
      expectBalance(s, 'duplicate bet', copy);
    }
  }
  if (bets.length > 0 && Math.random() < 0.05) {
    const bet = bets.pop();
    const rolled = answer(call('rollback', { player_id: s.id, transaction_id: `${bet}-x`, bet_transaction_id: bet }));
    if (check(rolled, { 'rollback ok': (b) => b.status === 'ok' })) s.balance += BET_MICROS;
    expectBalance(s, 'rollback', rolled);
  }
  if (bets.length > 0) {
    const roll = Math.random();
    const win = roll < 0.6 ? 0 : Math.floor(bets.length * BET_MICROS * (roll < 0.95 ? 0.5 + Math.random() * 4.5 : 10 + Math.random() * 90));
    const closes = Math.random() < 0.7;
    const credited = answer(call('win', {
      player_id: s.id, game_code: GAME, round_id: round, transaction_id: `${round}-w`, amount: win, currency: 'USD',
      round_closed: closes,
    }));
    if (check(credited, { 'win ok': (b) => b.status === 'ok' })) s.balance += win;
    expectBalance(s, 'win', credited);
    if (!closes) check(answer(call('end_round', { player_id: s.id, round_id: round })), { 'end ok': (b) => b.status === 'ok' });
  } else {
    check(answer(call('end_round', { player_id: s.id, round_id: round })), { 'end ok': (b) => b.status === 'ok' });
  }
  providerRounds.add(1);
  if (THINK_MS > 0) sleep((Math.random() * 2 * THINK_MS) / 1000);
}
