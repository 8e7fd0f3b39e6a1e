// The smoke test CI runs against a freshly started local cluster (scripts/loadtest.sh, `make
// loadtest`): a few hundred players for about 40 seconds, most of them crash players on the WebSocket
// (lib/crash.js), the rest Dice, Plinko and Mines players over REST (lib/instant.js), every threshold on.
//
//   k6 run loadtest/smoke.js
//   scripts/loadtest.sh                      (also checks the ledger and that every bet settled)
//
// Environment (defaults in brackets):
//   BASE_URL      the cluster's public address [http://127.0.0.1:8080]; non-loopback needs ALLOW_REMOTE=1
//   VUS           players in all [200]
//   CRASH_SHARE   share of them playing crash [0.8]
//   RAMP          time to reach VUS players [10s]
//   DURATION      time at VUS players after the ramp [30s]
//   Everything crash-players.js and instant-players.js read (ROOM, AMOUNT, BET_PROBABILITY, THINK_MS,
//   RUN_ID, USERS_FILE, FUND, ...) and their thresholds: TICK_P99_MS [100], BET_ACK_P99_MS [250],
//   CASHOUT_ACK_P99_MS [250], WS_ERROR_RATE_MAX [0.01], HTTP_P99_MS [250], HTTP_FAILED_MAX [0.01],
//   CHECKS_MIN [0.99]; besides, at least one crash bet and one instant bet must have been played.

import { envDuration, envInt } from './lib/config.js';
import { crashPlayer, instantPlayer, mixOptions, mixSetup } from './lib/mix.js';

const VUS = envInt('VUS', 200, 1, 100000);
const RAMP = envDuration('RAMP', '10s');
const DURATION = envDuration('DURATION', '30s');

export const options = mixOptions(VUS, RAMP, DURATION);

export function setup() {
  return mixSetup();
}

export function crash(data) {
  crashPlayer(data, RAMP.ms, DURATION.ms);
}

export function instant(data) {
  instantPlayer(data);
}
