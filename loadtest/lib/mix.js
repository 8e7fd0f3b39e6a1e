// Crash WebSocket players and instant REST players in one run (smoke.js and soak.js): two ramping
// scenarios started together, CRASH_SHARE of the VUs in the crash one, with every threshold of both.

import { ROOM, envFloat, envString } from './config.js';
import { crashPlayer } from './crash.js';
import { instantPlayer } from './instant.js';
import { preflight } from './players.js';
import {
  INSTANT_REQUESTS,
  SUMMARY_TREND_STATS,
  SYSTEM_TAGS,
  commonThresholds,
  crashThresholds,
  httpThresholds,
} from './thresholds.js';

const CRASH_SHARE = envFloat('CRASH_SHARE', 0.8, 0, 1);

/** k6 options for `vus` players ramped up over `ramp` and held for `hold` (envDuration values). */
export function mixOptions(vus, ramp, hold) {
  const crashVus = Math.round(vus * CRASH_SHARE);
  const instantVus = vus - crashVus;
  const stages = (target) => [
    { duration: ramp.text, target },
    { duration: hold.text, target },
  ];
  const scenarios = {};
  if (crashVus > 0) {
    scenarios.crash = { executor: 'ramping-vus', exec: 'crash', startVUs: 0, stages: stages(crashVus), gracefulStop: '15s' };
  }
  if (instantVus > 0) {
    scenarios.instant = { executor: 'ramping-vus', exec: 'instant', startVUs: 0, stages: stages(instantVus), gracefulStop: '15s' };
  }
  const thresholds = commonThresholds();
  if (crashVus > 0) {
    Object.assign(thresholds, crashThresholds());
    // A run in which no bet was acknowledged proves nothing, whatever its latencies. Whether a betting
    // phase opened at all during the run depends on how long the rounds ran: scripts/loadtest.sh sets
    // CRASH_BETS_REQUIRED=0 and judges bets against the betting windows seen (betting_windows) instead.
    if (envString('CRASH_BETS_REQUIRED', '1') !== '0') thresholds.bets_placed = ['count>0'];
  }
  if (instantVus > 0) {
    Object.assign(thresholds, httpThresholds(INSTANT_REQUESTS));
    thresholds.instant_bets = ['count>0'];
  }
  return {
    scenarios,
    thresholds,
    systemTags: SYSTEM_TAGS,
    summaryTrendStats: SUMMARY_TREND_STATS,
    setupTimeout: '60s',
  };
}

export function mixSetup() {
  return preflight([ROOM]);
}

export { crashPlayer, instantPlayer };
