// Money movement at a high rate: each VU is one player who, in every iteration, sends TOP_UPS top-ups
// and ROLLS Dice rolls AT ONCE (concurrent requests on the same account, which is what contends in the
// ledger), sometimes replays an earlier top-up and roll with the same Idempotency-Key (which must not
// move money again), then reads `GET /api/v1/wallet/balance`.
//
// The money check the script does itself: the balance read must equal the previous one plus every
// posted top-up minus every accepted stake plus every payout, as the answers state them; a replay must
// answer `replayed: true` with the first result. Any difference is counted in `balance_mismatches`
// (threshold: none). Afterwards `make audit` checks the ledger as a whole.
//
// Needs the development top-up (local and dev configs); it is not meant for a real deployment.
//
//   k6 run loadtest/wallet-stress.js
//   k6 run -e VUS=100 -e DURATION=5m loadtest/wallet-stress.js
//
// Environment (defaults in brackets):
//   BASE_URL            the cluster's public address [http://127.0.0.1:8080]; non-loopback needs ALLOW_REMOTE=1
//   VUS                 players [50]
//   RAMP                time to reach VUS players [15s]
//   DURATION            time at VUS players after the ramp [1m]
//   AMOUNT              Dice stake in micro-units [1000000]
//   TOP_UPS             concurrent top-ups per iteration [2]
//   ROLLS               concurrent Dice rolls per iteration [4]
//   TOP_UP_MAX          largest top-up in micro-units; each is random from 1 unit [100000000]
//   REPLAY_PROBABILITY  chance per iteration of also replaying the previous top-up and roll [0.2]
//   THINK_MS            pause after each iteration in ms [0]
//   RUN_ID, PASSWORD    players are RUN_ID-w<VU>, as in crash-players.js (or USERS_FILE, at least
//                       VUS lines: a player shared by two VUs would break the money check)
//   Thresholds: HTTP_P99_MS (p99 of wallet_top_up, dice_roll and wallet_balance) [1000: this test
//               saturates on purpose], balance_mismatches none,
//               HTTP_FAILED_MAX [0.01], CHECKS_MIN [0.99]

import http from 'k6/http';
import { check, sleep } from 'k6';
import { AMOUNT, BASE_URL, MICROS_PER_UNIT, envDuration, envFloat, envInt } from './lib/config.js';
import { balance, balanceMismatches, errorCode, params, player, preflight, uniqueKey, usersFileSize } from './lib/players.js';
import { SUMMARY_TREND_STATS, SYSTEM_TAGS, commonThresholds, httpThresholds } from './lib/thresholds.js';

const VUS = envInt('VUS', 50, 1, 100000);
const RAMP = envDuration('RAMP', '15s');
const DURATION = envDuration('DURATION', '1m');
const TOP_UPS = envInt('TOP_UPS', 2, 0, 50);
const ROLLS = envInt('ROLLS', 4, 0, 50);
const TOP_UP_MAX = envInt('TOP_UP_MAX', 100 * MICROS_PER_UNIT, MICROS_PER_UNIT, 1e15);
const REPLAY_PROBABILITY = envFloat('REPLAY_PROBABILITY', 0.2, 0, 1);
const THINK_MS = envInt('THINK_MS', 0, 0, 600000);
const WALLET_P99_MS = 1000;

if (TOP_UPS + ROLLS === 0) throw new Error('TOP_UPS and ROLLS must not both be 0');
// The money check needs each player to be played by one VU only.
if (usersFileSize() > 0 && usersFileSize() < VUS) throw new Error(`USERS_FILE needs at least VUS (${VUS}) players`);

export const options = {
  scenarios: {
    wallet: {
      executor: 'ramping-vus',
      exec: 'wallet',
      startVUs: 0,
      stages: [
        { duration: RAMP.text, target: VUS },
        { duration: DURATION.text, target: VUS },
      ],
      gracefulStop: '15s',
    },
  },
  // The point is saturation, so latency only has to stay sane; the money check is the real threshold.
  thresholds: Object.assign(commonThresholds(), httpThresholds(['wallet_top_up', 'dice_roll', 'wallet_balance'], WALLET_P99_MS)),
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '60s',
};

export function setup() {
  return preflight([]);
}

// The previous iteration's first top-up and roll, replayed with the same key and body.
let lastTopUp = null;
let lastRoll = null;

function topUpRequest(me, key, amount) {
  return {
    method: 'POST',
    url: `${BASE_URL}/api/v1/wallet/top-up`,
    body: JSON.stringify({ amount }),
    params: params(me.token, 'wallet_top_up', [200], { 'Idempotency-Key': key }),
    kind: 'top_up',
    key,
    amount,
  };
}

function rollRequest(me, key, body) {
  return {
    method: 'POST',
    url: `${BASE_URL}/api/v1/dice/roll`,
    body: JSON.stringify(body),
    params: params(me.token, 'dice_roll', [200], { 'Idempotency-Key': key }),
    kind: 'roll',
    key,
    rollBody: body,
  };
}

/** What one answer adds to the balance, after checking it; null when the answer is unusable. */
function delta(request, response, replay) {
  if (!check(response, { [`${request.kind} answered 200`]: (r) => r.status === 200 })) {
    console.warn(`VU ${__VU}: ${request.kind} ${response.status} ${errorCode(response)}`);
    return null;
  }
  const answer = response.json();
  check(answer, {
    'a replay says replayed, a new request does not': (a) => a.replayed === replay,
    'balance is never negative': (a) => a.balance >= 0,
  });
  if (replay) {
    // The first result comes back unchanged: same transfer or bet, no money moves now.
    const same = request.kind === 'top_up' ? answer.transfer_id === request.first.transfer_id : answer.bet.id === request.first.bet.id;
    check(answer, { 'a replay returns the first result': () => same });
    return 0;
  }
  if (request.kind === 'top_up') {
    check(answer, { 'top-up added its amount': (a) => a.amount === request.amount });
    return request.amount;
  }
  check(answer.bet, { 'roll settled': (b) => b.status === 'settled' && b.amount === AMOUNT });
  return answer.bet.payout - answer.bet.amount;
}

export function wallet(data) {
  // Refill below 10 iterations' worth of stakes; top-ups below keep most players well above that.
  const me = player(data, 'w', AMOUNT * ROLLS * 10);
  const requests = [];
  for (let i = 0; i < TOP_UPS; i += 1) {
    const amount = MICROS_PER_UNIT * (1 + Math.floor(Math.random() * (TOP_UP_MAX / MICROS_PER_UNIT)));
    requests.push(topUpRequest(me, uniqueKey(data, 't'), amount));
  }
  for (let i = 0; i < ROLLS; i += 1) {
    const body = { amount: AMOUNT, target: (500 + Math.floor(Math.random() * 9000)) / 100, direction: Math.random() < 0.5 ? 'over' : 'under' };
    requests.push(rollRequest(me, uniqueKey(data, 'r'), body));
  }
  const replays = [];
  if (Math.random() < REPLAY_PROBABILITY) {
    if (lastTopUp !== null) replays.push(Object.assign(topUpRequest(me, lastTopUp.key, lastTopUp.amount), { first: lastTopUp.answer }));
    if (lastRoll !== null) replays.push(Object.assign(rollRequest(me, lastRoll.key, lastRoll.body), { first: lastRoll.answer }));
  }
  const all = requests.concat(replays);
  const responses = http.batch(all.map((r) => [r.method, r.url, r.body, r.params]));

  let expected = me.balance;
  responses.forEach((response, i) => {
    const replay = i >= requests.length;
    const change = delta(all[i], response, replay);
    if (change === null) {
      expected = null; // a failed request may or may not have moved money: re-read, do not guess
      return;
    }
    if (expected !== null) expected += change;
    if (!replay && response.status === 200) {
      const request = all[i];
      if (request.kind === 'top_up' && (lastTopUp === null || Math.random() < 0.5)) {
        lastTopUp = { key: request.key, amount: request.amount, answer: response.json() };
      } else if (request.kind === 'roll' && (lastRoll === null || Math.random() < 0.5)) {
        lastRoll = { key: request.key, body: request.rollBody, answer: response.json() };
      }
    }
  });

  const actual = balance(me);
  if (expected !== null && actual !== null) {
    const ok = check(actual, { 'balance equals what the answers imply': (b) => b === expected });
    if (!ok) {
      balanceMismatches.add(1);
      console.error(`VU ${__VU} ${me.username}: balance ${actual}, the answers imply ${expected}`);
    }
  }
  me.balance = actual;
  if (THINK_MS > 0) sleep(THINK_MS / 1000);
}
