// Abuse against the rate limits (docs/OPERATIONS.md, "Rate limits"), next to ordinary crash players:
// credential stuffing against one account's login, a bet flood from one account, a message flood on one
// socket and many sockets from one address. The limits must hold (429s, `rate_limited` errors and the
// 4029 close are seen), while the ordinary players' tick delivery and bet acknowledgements stay within
// the smoke's thresholds; scripts/loadtest.sh then checks that every bet settled and runs the audit.
//
//   make loadtest SCRIPT=abuse.js            (against `make up`, whose local config keeps the per-account,
//                                             per-player and per-socket limits of production)
//
// Environment (defaults in brackets):
//   BASE_URL        the cluster's public address [http://127.0.0.1:8080]
//   VUS             ordinary crash players [50]
//   RAMP, DURATION  their ramp and hold [5s, 40s]; the abusers start after the ramp
//   STUFFING_TRIES  wrong passwords tried against one account [200]
//   FLOOD_BETS      dice bets one account fires at most, in parallel batches of 25, stopping at the first
//                   batch with a refusal [3000]
//   WS_MESSAGES_PER_S, WS_REFUSED_MAX  the cluster's rate_limits.ws_messages_per_socket_per_s and
//                   ws_rate_limited_messages_max [20, 20]: the flooding socket writes exactly the burst,
//                   the refused messages and the one that closes it, all at once (a client writing on
//                   after the close gets its connection reset, and loses the answers it had not read)
//   SOCKETS_MAX     sockets one address opens at most before it must be refused [3000]
//   and the thresholds of smoke.js: TICK_P99_MS, BET_ACK_P99_MS, CASHOUT_ACK_P99_MS, WS_ERROR_RATE_MAX.

import http from 'k6/http';
import ws from 'k6/ws';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { AMOUNT, BASE_URL, WS_URL, envDuration, envInt } from './lib/config.js';
import { crashPlayer } from './lib/crash.js';
import { params, player, uniqueKey } from './lib/players.js';
import { mixSetup } from './lib/mix.js';
import { SUMMARY_TREND_STATS, SYSTEM_TAGS, crashThresholds } from './lib/thresholds.js';

const VUS = envInt('VUS', 50, 1, 100000);
const RAMP = envDuration('RAMP', '5s');
const DURATION = envDuration('DURATION', '40s');
const STUFFING_TRIES = envInt('STUFFING_TRIES', 200, 1, 100000);
const FLOOD_BETS = envInt('FLOOD_BETS', 3000, 1, 1000000);
const FLOOD_MESSAGES = envInt('WS_MESSAGES_PER_S', 20, 1, 1000000) + envInt('WS_REFUSED_MAX', 20, 1, 1000000) + 1;
const SOCKETS_MAX = envInt('SOCKETS_MAX', 3000, 1, 1000000);
const BATCH = 25;
let betsRefusedHere = 0;

const loginsRefused = new Counter('abuse_logins_refused');
const betsRefused = new Counter('abuse_bets_refused');
const messagesRefused = new Counter('abuse_messages_refused');
const floodClosed = new Counter('abuse_flood_socket_closed_4029');
const socketsRefused = new Counter('abuse_sockets_refused');
const unexpected = new Counter('abuse_unexpected_answers');

const abuser = (exec) => ({
  executor: 'per-vu-iterations',
  exec,
  vus: 1,
  iterations: 1,
  startTime: RAMP.text,
  maxDuration: DURATION.text,
});

export const options = {
  scenarios: {
    players: {
      executor: 'ramping-vus',
      exec: 'players',
      startVUs: 0,
      stages: [
        { duration: RAMP.text, target: VUS },
        { duration: DURATION.text, target: VUS },
      ],
      gracefulStop: '15s',
    },
    stuffing: abuser('stuffing'),
    betFlood: abuser('betFlood'),
    messageFlood: abuser('messageFlood'),
    socketFlood: abuser('socketFlood'),
  },
  thresholds: Object.assign(crashThresholds(), {
    checks: ['rate>0.99'],
    // The abusers' refusals are expected answers; any other failure of the players' requests is not.
    'http_req_failed{scenario:players}': ['rate<0.01'],
    abuse_logins_refused: ['count>0'],
    abuse_bets_refused: ['count>0'],
    abuse_messages_refused: ['count>0'],
    abuse_flood_socket_closed_4029: ['count>0'],
    abuse_sockets_refused: ['count>0'],
    abuse_unexpected_answers: ['count<1'],
  }),
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '60s',
};

export function setup() {
  return mixSetup();
}

export function players(data) {
  crashPlayer(data, RAMP.ms, DURATION.ms);
}

/** Wrong passwords against one account: 401 until the lockout (or the account's limit) answers 429. */
export function stuffing(data) {
  const victim = player(data, 'v', 0);
  const body = JSON.stringify({ username: victim.username, password: 'not-the-password' });
  for (let attempt = 0; attempt < STUFFING_TRIES; attempt += 1) {
    const response = http.post(`${BASE_URL}/api/v1/auth/login`, body, params(null, 'abuse_login', [401, 429]));
    if (response.status === 429) loginsRefused.add(1);
    else if (response.status !== 401) unexpected.add(1, { scenario: 'stuffing', status: String(response.status) });
  }
  // Locked: the right password is refused as well, until the lock expires.
  const right = JSON.stringify({ username: victim.username, password: 'loadtest-password' });
  const locked = http.post(`${BASE_URL}/api/v1/auth/login`, right, params(null, 'abuse_login', [429]));
  check(locked, { 'a locked account refuses even the right password (429)': (r) => r.status === 429 });
}

/** Dice bets from one account, fired in parallel batches until the player's limit answers 429. */
export function betFlood(data) {
  const me = player(data, 'b', AMOUNT * FLOOD_BETS);
  for (let sent = 0; sent < FLOOD_BETS && betsRefusedHere === 0; sent += BATCH) {
    const requests = [];
    for (let index = 0; index < BATCH; index += 1) {
      const body = JSON.stringify({ amount: AMOUNT, target: 50, direction: 'over' });
      const headers = { 'Idempotency-Key': uniqueKey(data, 'x') };
      requests.push(['POST', `${BASE_URL}/api/v1/dice/roll`, body, params(me.token, 'abuse_bet', [200, 429], headers)]);
    }
    for (const response of http.batch(requests)) {
      if (response.status === 429) {
        betsRefused.add(1);
        betsRefusedHere += 1;
      } else if (response.status !== 200) unexpected.add(1, { scenario: 'betFlood', status: String(response.status) });
    }
  }
}

/** Messages written at once on one socket: `rate_limited` errors, then the close with 4029. */
export function messageFlood(data) {
  let closeCode = null;
  const response = ws.connect(WS_URL, { tags: { name: 'abuse_ws' } }, (socket) => {
    socket.on('open', () => {
      for (let index = 0; index < FLOOD_MESSAGES; index += 1) {
        socket.send(JSON.stringify({ type: 'ping', request_id: String(index) }));
      }
    });
    socket.on('message', (text) => {
      const message = JSON.parse(text);
      if (message.type === 'error' && message.code === 'rate_limited') messagesRefused.add(1);
    });
    socket.on('close', (code) => {
      closeCode = code;
    });
    socket.on('error', () => {});
    socket.setTimeout(() => socket.close(1000), 10000);
  });
  check(response, { 'the flooding socket was upgraded (101)': (r) => r !== undefined && r.status === 101 });
  if (closeCode === 4029) floodClosed.add(1);
}

/** Sockets from one address, each closed at once, until the address's limit refuses the handshake. */
export function socketFlood() {
  for (let opened = 0; opened < SOCKETS_MAX; opened += 1) {
    const response = ws.connect(WS_URL, { tags: { name: 'abuse_sockets' } }, (socket) => {
      socket.on('open', () => socket.close(1000));
      socket.on('error', () => {});
    });
    if (response !== undefined && response.status === 429) {
      socketsRefused.add(1);
      return;
    }
  }
}
