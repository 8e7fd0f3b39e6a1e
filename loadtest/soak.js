// A long run at moderate load: crash WebSocket players and instant REST players together, with the
// same thresholds as the smoke test, to find what only time shows (leaks, slow drift in latency, a
// growing table, a queue that never quite drains). Watch `make status` and the nodes' memory meanwhile.
//
//   k6 run loadtest/soak.js
//   k6 run -e VUS=300 -e DURATION=2h loadtest/soak.js
//
// Environment (defaults in brackets):
//   BASE_URL      the cluster's public address [http://127.0.0.1:8080]; non-loopback needs ALLOW_REMOTE=1
//   VUS           players in all [100]
//   CRASH_SHARE   share of them playing crash [0.8]
//   RAMP          time to reach VUS players [1m]
//   DURATION      time at VUS players after the ramp [30m]
//   THINK_MS      mean pause between an instant player's requests [1000 here]
//   Everything crash-players.js and instant-players.js read, and the same thresholds as smoke.js.

import { envDuration, envInt } from './lib/config.js';
import { crashPlayer, instantPlayer, mixOptions, mixSetup } from './lib/mix.js';

const VUS = envInt('VUS', 100, 1, 100000);
const RAMP = envDuration('RAMP', '1m');
const DURATION = envDuration('DURATION', '30m');

// A soak's instant players take their time unless THINK_MS says otherwise.
const SOAK_THINK_MS = 1000;

export const options = mixOptions(VUS, RAMP, DURATION);

export function setup() {
  return mixSetup();
}

export function crash(data) {
  crashPlayer(data, RAMP.ms, DURATION.ms);
}

export function instant(data) {
  instantPlayer(data, SOAK_THINK_MS);
}
