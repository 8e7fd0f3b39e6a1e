// Crash players over the WebSocket, through nginx.
//
// Each VU is one player: it signs up (or logs in when its username exists), tops itself up with the
// development top-up, opens `GET /ws?token=JWT&room=ROOM` and stays connected until the end of the hold
// stage, reconnecting after a close (1001 when a node drains). On each `round_start` it bets with
// probability BET_PROBABILITY, either with an `auto_cashout` or cashing out by hand once a tick's
// multiplier passes its target (both random in CASHOUT_MIN..CASHOUT_MAX).
//
//   k6 run loadtest/crash-players.js
//   k6 run -e VUS=300 -e DURATION=5m -e BASE_URL=http://127.0.0.1:8080 loadtest/crash-players.js
//
// Environment (defaults in brackets):
//   BASE_URL                 the cluster's public address (nginx) [http://127.0.0.1:8080]; anything but
//                            a loopback address also needs ALLOW_REMOTE=1
//   VUS                      players [100]
//   RAMP                     time to reach VUS players [30s]
//   DURATION                 how long all players stay connected after the ramp [2m]
//   ROOM                     crash room [aviator]
//   AMOUNT                   stake per bet in micro-units (1 unit = 1,000,000) [1000000]
//   BET_PROBABILITY          chance of betting in a round [0.8]
//   AUTO_CASHOUT_PROBABILITY share of bets with auto_cashout; the rest cash out by hand [0.5]
//   CASHOUT_MIN, CASHOUT_MAX range of the auto-cashout and manual targets [1.1, 3.0]
//   BET_DELAY_MAX_MS         bets are spread over up to this much of the betting window [1500]
//   ACK_TIMEOUT_MS           a request unanswered this long counts as an error [10000]
//   EXPECTED_ERRORS          error codes that are normal races, comma-separated
//                            [round_crashed,round_not_running,betting_closed]
//   RUN_ID                   username prefix: players are RUN_ID-c<VU> (random per run by default;
//                            give the same RUN_ID to play the same players again)
//   PASSWORD                 password of the generated players [loadtest-password]
//   USERS_FILE               existing players instead: one username:password per line, VU n plays line n
//   FUND                     1: top up with the development top-up when low; 0: never (a real
//                            deployment, with players funded beforehand) [1]
//   FUND_AMOUNT              micro-units per top-up [1000000000]
//   Thresholds: TICK_P99_MS [100], BET_ACK_P99_MS [250], CASHOUT_ACK_P99_MS [250],
//               WS_ERROR_RATE_MAX [0.01], CHECKS_MIN [0.99], HTTP_FAILED_MAX [0.01]

import { envDuration, envInt, ROOM } from './lib/config.js';
import { crashPlayer } from './lib/crash.js';
import { preflight } from './lib/players.js';
import { SUMMARY_TREND_STATS, SYSTEM_TAGS, commonThresholds, crashThresholds } from './lib/thresholds.js';

const VUS = envInt('VUS', 100, 1, 100000);
const RAMP = envDuration('RAMP', '30s');
const DURATION = envDuration('DURATION', '2m');

export const options = {
  scenarios: {
    crash: {
      executor: 'ramping-vus',
      exec: 'crash',
      startVUs: 0,
      stages: [
        { duration: RAMP.text, target: VUS },
        { duration: DURATION.text, target: VUS },
      ],
      // Sessions end on their own at the end of the hold stage; this only bounds a straggler.
      gracefulStop: '15s',
    },
  },
  thresholds: Object.assign(commonThresholds(), crashThresholds()),
  systemTags: SYSTEM_TAGS,
  summaryTrendStats: SUMMARY_TREND_STATS,
  setupTimeout: '60s',
};

export function setup() {
  return preflight([ROOM]);
}

export function crash(data) {
  crashPlayer(data, RAMP.ms, DURATION.ms);
}
