// Slot players over REST, through nginx (lib/slots.js): each VU signs up (or logs in) once, opens a
// game session of fortune-lines or gem-cascade, spins at a human pace, reveals every bonus it triggers
// free spin by free spin, and now and then buys one. The money is checked on every answer (the balance
// after a finished round is the one before it minus the stake plus the round's total win), and a request
// without an answer is retried with the same Idempotency-Key.
//
//   k6 run loadtest/slots.js                                   (the load smoke's slot part)
//   SCRIPT=slots.js scripts/loadtest.sh -e VUS=200 -e DURATION=5m
//   scripts/bench-slots-server.sh                              (BENCH=1: spins as fast as they go)
//
// Environment (defaults in brackets):
//   BASE_URL          the cluster's public address [http://127.0.0.1:8080]; non-loopback needs ALLOW_REMOTE=1
//   VUS               players [50; BENCH=1: 256]
//   RAMP              time to reach VUS players [5s]; not used with BENCH=1
//   DURATION          time at VUS players after the ramp [20s]; with BENCH=1 the measured window [30s]
//   THINK_MS          mean pause before each spin and each reveal in ms, uniform 0..2x [1000; BENCH=1: 0]
//   SLOT_GAMES        games, one chosen per session [fortune-lines,gem-cascade]
//   SLOT_BET_MICROS   base bet in micro-units, one of the server's bet levels [100000]
//   BUY_PROBABILITY   chance per paid round of buying the bonus (100 bets) instead [0.005: 1 in 200]
//   SESSION_ROUNDS_MAX  paid rounds per game session before a new init [500]
//   SLOT_ATTEMPTS_MAX attempts of a request that got no answer (network error, 502/503/504) [4]
//   RUN_ID, PASSWORD, USERS_FILE, FUND, FUND_AMOUNT   players and funding, as in crash-players.js
//                     (generated players are RUN_ID-s<VU>)
//   BENCH             1: the throughput benchmark. Every VU plays from the start (constant-vus) for
//                     WARMUP + DURATION; only spins answered inside the last DURATION are counted in
//                     `bench_spins` and timed in `bench_spin_ms`. Latency is then reported, not judged:
//                     the thresholds keep to correctness (money, checks, failed requests).
//   WARMUP            BENCH=1: time before the measured window (sign-ups, first sessions) [15s]
//   Thresholds: HTTP_P99_MS (p99 of slot_spin, slot_reveal and slot_buy) [250], balance_mismatches
//               none, slot_rounds > 0, HTTP_FAILED_MAX [0.01], CHECKS_MIN [0.99]

import { envBool, envDuration, envInt } from './lib/config.js';
import { preflight } from './lib/players.js';
import { slotPlayer } from './lib/slots.js';
import { SUMMARY_TREND_STATS, SYSTEM_TAGS, commonThresholds, httpThresholds } from './lib/thresholds.js';

const BENCH = envBool('BENCH', false);
const VUS = envInt('VUS', BENCH ? 256 : 50, 1, 100000);
const RAMP = envDuration('RAMP', '5s');
const DURATION = envDuration('DURATION', BENCH ? '30s' : '20s');
const WARMUP = envDuration('WARMUP', '15s');
const THINK_MS = envInt('THINK_MS', BENCH ? 0 : 1000, 0, 600000);

const SLOT_REQUESTS = ['slot_spin', 'slot_reveal', 'slot_buy'];

function thresholds() {
  const all = Object.assign(commonThresholds(), { balance_mismatches: ['count<1'], slot_rounds: ['count>0'] });
  if (!BENCH) Object.assign(all, httpThresholds(SLOT_REQUESTS));
  return all;
}

const scenario = BENCH
  ? { executor: 'constant-vus', vus: VUS, duration: `${(WARMUP.ms + DURATION.ms) / 1000}s` }
  : {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: RAMP.text, target: VUS },
        { duration: DURATION.text, target: VUS },
      ],
    };

export const options = {
  scenarios: { slots: Object.assign({ exec: 'slots', gracefulStop: '15s' }, scenario) },
  thresholds: thresholds(),
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '60s',
};

export function setup() {
  const data = preflight([]);
  if (BENCH) {
    // The scenario starts right after setup; the window opens once the warm-up is over.
    data.benchFromMs = Date.now() + WARMUP.ms;
    data.benchUntilMs = data.benchFromMs + DURATION.ms;
    data.benchWindowS = DURATION.ms / 1000;
  }
  return data;
}

export function slots(data) {
  slotPlayer(data, THINK_MS);
}
