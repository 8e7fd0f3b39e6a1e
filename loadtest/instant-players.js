// REST players of Dice, Plinko and Mines, through nginx.
//
// Each VU is one player: it signs up (or logs in), tops itself up when low, then loops: one game chosen
// by weight (Dice `POST /api/v1/dice/roll`, Plinko `POST /api/v1/plinko/drop`, Mines `POST
// /api/v1/mines/bet`, a few `POST /api/v1/mines/click` and a `POST /api/v1/mines/cashout` unless a mine
// ended the game), then a pause. Every bet has a fresh Idempotency-Key. Since a VU plays its player
// alone, every answer's balance must be the previous one minus the stake plus the payout; a difference
// is counted in `balance_mismatches` (threshold: none).
//
//   k6 run loadtest/instant-players.js
//   k6 run -e VUS=100 -e THINK_MS=0 -e DURATION=3m loadtest/instant-players.js
//
// Environment (defaults in brackets):
//   BASE_URL          the cluster's public address [http://127.0.0.1:8080]; non-loopback needs ALLOW_REMOTE=1
//   VUS               players [50]
//   RAMP              time to reach VUS players [30s]
//   DURATION          time at VUS players after the ramp [2m]
//   AMOUNT            stake per bet in micro-units [1000000]
//   THINK_MS          mean pause between a player's requests in ms, uniform 0..2x [500]
//   DICE_WEIGHT, PLINKO_WEIGHT, MINES_WEIGHT   share of each game [0.5, 0.3, 0.2]
//   MINES_MAX         mines per game, random from 1 [5]
//   MINES_CLICKS_MAX  tiles revealed before cashing out, random from 1 [4]
//   RUN_ID, PASSWORD, USERS_FILE, FUND, FUND_AMOUNT   players and funding, as in crash-players.js
//                     (generated players are RUN_ID-i<VU>)
//   Thresholds: HTTP_P99_MS (p99 of every game request, per request name) [250],
//               HTTP_FAILED_MAX [0.01], CHECKS_MIN [0.99]

import { envDuration, envInt } from './lib/config.js';
import { instantPlayer } from './lib/instant.js';
import { preflight } from './lib/players.js';
import { INSTANT_REQUESTS, SUMMARY_TREND_STATS, SYSTEM_TAGS, commonThresholds, httpThresholds } from './lib/thresholds.js';

const VUS = envInt('VUS', 50, 1, 100000);
const RAMP = envDuration('RAMP', '30s');
const DURATION = envDuration('DURATION', '2m');

export const options = {
  scenarios: {
    instant: {
      executor: 'ramping-vus',
      exec: 'instant',
      startVUs: 0,
      stages: [
        { duration: RAMP.text, target: VUS },
        { duration: DURATION.text, target: VUS },
      ],
      gracefulStop: '15s',
    },
  },
  thresholds: Object.assign(commonThresholds(), httpThresholds(INSTANT_REQUESTS)),
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '60s',
};

export function setup() {
  return preflight([]);
}

export function instant(data) {
  instantPlayer(data);
}
