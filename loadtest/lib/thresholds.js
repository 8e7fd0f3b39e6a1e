// Pass/fail limits shared by the scripts, each overridable by an environment variable. A run whose
// thresholds fail makes `k6 run` exit 99, which scripts/loadtest.sh turns into a failure.

import { envFloat, envInt } from './config.js';

const TICK_P99_MS = envInt('TICK_P99_MS', 100, 1, 600000);
const BET_ACK_P99_MS = envInt('BET_ACK_P99_MS', 250, 1, 600000);
const CASHOUT_ACK_P99_MS = envInt('CASHOUT_ACK_P99_MS', 250, 1, 600000);
const WS_ERROR_RATE_MAX = envFloat('WS_ERROR_RATE_MAX', 0.01, 0, 1);
const HTTP_P99_MS = envInt('HTTP_P99_MS', null, 1, 600000);
const HTTP_FAILED_MAX = envFloat('HTTP_FAILED_MAX', 0.01, 0, 1);
const CHECKS_MIN = envFloat('CHECKS_MIN', 0.99, 0, 1);

/** Checks and failed HTTP requests: every script. */
export function commonThresholds() {
  return {
    checks: [`rate>${CHECKS_MIN}`],
    http_req_failed: [`rate<${HTTP_FAILED_MAX}`],
  };
}

/** The crash players' latencies and error rate. */
export function crashThresholds() {
  return {
    tick_delivery_ms: [`p(99)<${TICK_P99_MS}`],
    bet_ack_ms: [`p(99)<${BET_ACK_P99_MS}`],
    cashout_ack_ms: [`p(99)<${CASHOUT_ACK_P99_MS}`],
    ws_errors: [`rate<${WS_ERROR_RATE_MAX}`],
  };
}

/**
 * p99 of each named request (the `name` tag) under HTTP_P99_MS (else `defaultP99Ms`, 250 ms unless the
 * script says otherwise), and no balance that disagrees with the answers.
 */
export function httpThresholds(names, defaultP99Ms) {
  const p99Ms = HTTP_P99_MS !== null ? HTTP_P99_MS : defaultP99Ms || 250;
  const thresholds = { balance_mismatches: ['count<1'] };
  for (const name of names) {
    thresholds[`http_req_duration{name:${name}}`] = [`p(99)<${p99Ms}`];
  }
  return thresholds;
}

export const INSTANT_REQUESTS = ['dice_roll', 'plinko_drop', 'mines_bet', 'mines_click', 'mines_cashout'];

/**
 * k6 options every script shares: the `url` system tag is left out because a WebSocket URL carries the
 * player's token (and would make one time series per player); requests are told apart by `name`.
 */
export const SYSTEM_TAGS = ['proto', 'status', 'method', 'name', 'group', 'check', 'error', 'error_code', 'scenario', 'expected_response'];

export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'];
