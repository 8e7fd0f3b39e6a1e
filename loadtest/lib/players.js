// Players: sign-up or log-in once per VU, and funding with the development top-up.
//
// Password hashing is deliberately expensive on the server (Argon2id), so a VU signs up (or logs in)
// once and keeps its token for the whole run; iterations never authenticate again.

import http from 'k6/http';
import { check, sleep } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter } from 'k6/metrics';
import { BASE_URL, MICROS_PER_UNIT, envBool, envInt, envString, randomRunId, runId } from './config.js';

const PASSWORD = envString('PASSWORD', 'loadtest-password');
/** FUND=0: never call the development top-up (a real deployment: players are funded beforehand). */
export const FUND = envBool('FUND', true);
/** What one top-up adds (default 1,000 units, the local top-up limit). */
export const FUND_AMOUNT = envInt('FUND_AMOUNT', 1000 * MICROS_PER_UNIT, 1, 1e15);
// open() resolves a relative path against this module's directory; the caller means their own.
const USERS_FILE_GIVEN = envString('USERS_FILE', undefined);
const USERS_FILE =
  USERS_FILE_GIVEN !== undefined && !USERS_FILE_GIVEN.startsWith('/') && __ENV.PWD
    ? `${__ENV.PWD}/${USERS_FILE_GIVEN}`
    : USERS_FILE_GIVEN;

/** Balances that disagree with what the answers before them imply (instant players, wallet stress). */
export const balanceMismatches = new Counter('balance_mismatches');

// USERS_FILE: one `username:password` per line (blank lines and `#` comments skipped); VU n plays the
// n-th line, wrapping around. open() only works in the init context, hence at module level.
const USERS = USERS_FILE
  ? new SharedArray('users', () =>
      open(USERS_FILE)
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => {
          const colon = line.indexOf(':');
          if (colon < 1) throw new Error(`USERS_FILE lines must be username:password, not "${line}"`);
          return { username: line.slice(0, colon), password: line.slice(colon + 1) };
        }),
    )
  : null;

if (USERS !== null && USERS.length === 0) {
  throw new Error(`USERS_FILE ${USERS_FILE} holds no username:password line`);
}

/** How many distinct players USERS_FILE provides (0 without a file). */
export function usersFileSize() {
  return USERS === null ? 0 : USERS.length;
}

/** Request parameters for a JSON call: bearer token, metric name tag, and the statuses that count as success. */
export function params(token, name, statuses, headers) {
  const all = { 'Content-Type': 'application/json' };
  if (token) all.Authorization = `Bearer ${token}`;
  Object.assign(all, headers || {});
  return {
    headers: all,
    tags: { name },
    responseCallback: http.expectedStatuses(...(statuses || [200])),
    timeout: '30s',
  };
}

/** The error code of an envelope `{"error":{"code":..}}`, or the HTTP status when the body is not one. */
export function errorCode(response) {
  try {
    const body = response.json();
    if (body && body.error && body.error.code) return body.error.code;
  } catch (_) {
    // Not JSON (nginx's own error page, a timeout): fall through.
  }
  return `http_${response.status}`;
}

let keySequence = 0;

/** A unique Idempotency-Key / client_bet_id: run, VU, a counter and some randomness (at most 64 characters). */
export function uniqueKey(data, tag) {
  keySequence += 1;
  const random = Math.floor(Math.random() * 0xffffffff).toString(36);
  return `${runId(data)}-${tag}${__VU}-${keySequence}-${random}`;
}

function credentials(data, role) {
  if (USERS !== null) return USERS[(__VU - 1) % USERS.length];
  // 3 to 32 of [A-Za-z0-9_.-] (src/players): a 16-character run id, a role letter and the VU number fit.
  return { username: `${runId(data)}-${role}${__VU}`, password: PASSWORD };
}

/** Attempts of a sign-up or login the server answered 503 `auth_busy` (its hashing queue was full). */
const AUTH_ATTEMPTS_MAX = 10;

/** Posts an auth request, backing off while the server says its password hashing queue is full. */
function postAuth(path, body, name, expected) {
  let response = null;
  for (let attempt = 1; attempt <= AUTH_ATTEMPTS_MAX; attempt += 1) {
    response = http.post(`${BASE_URL}${path}`, body, params(null, name, expected.concat([503])));
    if (response.status !== 503) return response;
    sleep(Math.min(0.5 * attempt, 3) + Math.random());
  }
  return response;
}

function authenticate(username, password) {
  const body = JSON.stringify({ username, password });
  const signup = postAuth('/api/v1/auth/signup', body, 'auth_signup', [201, 409]);
  if (signup.status === 201) return signup.json('token');
  if (signup.status === 409) {
    const login = postAuth('/api/v1/auth/login', body, 'auth_login', [200]);
    if (login.status === 200) return login.json('token');
    throw new Error(`login of ${username} failed: ${login.status} ${errorCode(login)}`);
  }
  throw new Error(`signup of ${username} failed: ${signup.status} ${errorCode(signup)}`);
}

/** Adds FUND_AMOUNT to the player's balance with the development top-up; returns the new balance. */
export function topUp(data, player, amount) {
  const response = http.post(
    `${BASE_URL}/api/v1/wallet/top-up`,
    JSON.stringify({ amount }),
    params(player.token, 'wallet_top_up', [200], { 'Idempotency-Key': uniqueKey(data, 'f') }),
  );
  const ok = check(response, { 'top-up answered 200': (r) => r.status === 200 });
  if (!ok) {
    const hint = response.status === 404 ? ' (the top-up is off outside dev configs: run with FUND=0 and funded USERS_FILE players)' : '';
    throw new Error(`top-up failed: ${response.status} ${errorCode(response)}${hint}`);
  }
  return response.json('balance');
}

/** The balance as the primary sees it. */
export function balance(player) {
  const response = http.get(`${BASE_URL}/api/v1/wallet/balance`, params(player.token, 'wallet_balance'));
  check(response, { 'balance answered 200': (r) => r.status === 200 });
  return response.status === 200 ? response.json('balance') : null;
}

const players = {};

/**
 * This VU's player for `role` (one letter, part of the username): signed up or logged in on first use,
 * then cached for the VU's lifetime. Funded when FUND is on and the balance is below `minimum`.
 * Returns {username, token, balance}. Throws (after a pause, so a failing VU does not spin) on failure.
 */
export function player(data, role, minimum) {
  let current = players[role];
  try {
    if (current === undefined) {
      const { username, password } = credentials(data, role);
      const token = authenticate(username, password);
      check(token, { 'signed up or logged in': (t) => typeof t === 'string' && t.length > 0 });
      current = { username, token, balance: null };
      players[role] = current;
    }
    // Unknown after a failed request: read it again rather than guess.
    if (current.balance === null) current.balance = balance(current);
    if (FUND && current.balance !== null && current.balance < minimum) {
      current.balance = topUp(data, current, FUND_AMOUNT);
    }
  } catch (error) {
    sleep(1);
    throw error;
  }
  return current;
}

/**
 * setup(): fails fast with a clear message when the cluster is not there, and picks the run's prefix.
 * Returns the data every VU gets.
 */
export function preflight(rooms) {
  const health = http.get(`${BASE_URL}/health`, { tags: { name: 'health' }, timeout: '10s' });
  if (health.status !== 200) {
    throw new Error(`${BASE_URL}/health answered ${health.status}: is the cluster up (make up)?`);
  }
  for (const room of rooms || []) {
    const state = http.get(`${BASE_URL}/api/v1/game/state?room=${encodeURIComponent(room)}`, {
      tags: { name: 'game_state' },
      timeout: '10s',
    });
    if (state.status !== 200) throw new Error(`room ${room}: ${state.status} ${errorCode(state)}`);
  }
  const data = { runId: envString('RUN_ID', randomRunId()) };
  runId(data);
  console.log(`run ${data.runId}: players are ${data.runId}-<role><VU> on ${BASE_URL}`);
  return data;
}
