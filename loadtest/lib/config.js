// Settings shared by every load test script, read once from the environment (`k6 run -e KEY=value` or
// exported variables). Each script documents the variables it reads at its top; this module only parses
// them and refuses a bad value at start-up, naming the variable.

export const MICROS_PER_UNIT = 1000000;

/** The raw value of an environment variable, or `fallback` when it is unset or empty. */
export function envString(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : String(value);
}

/** An integer variable within [min, max]. */
export function envInt(name, fallback, min, max) {
  const text = envString(name, undefined);
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

/** A decimal variable within [min, max]. */
export function envFloat(name, fallback, min, max) {
  const text = envString(name, undefined);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

/** A 0/1 (or false/true) variable. */
export function envBool(name, fallback) {
  const text = envString(name, undefined);
  if (text === undefined) return fallback;
  if (['1', 'true', 'yes'].includes(text.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(text.toLowerCase())) return false;
  throw new Error(`${name} must be 0 or 1, not "${text}"`);
}

/**
 * A duration variable in k6's notation ("90s", "5m", "1h30m", "500ms"; a bare number is seconds).
 * Returns the text k6 accepts in stages and the same duration in milliseconds.
 */
export function envDuration(name, fallback) {
  const text = envString(name, fallback);
  const bare = /^\d+(\.\d+)?$/.test(text);
  const normalized = bare ? `${text}s` : text;
  const parts = normalized.match(/\d+(?:\.\d+)?(?:ms|h|m|s)/g);
  if (!parts || parts.join('') !== normalized) {
    throw new Error(`${name} must be a duration such as 30s, 5m or 1h30m, not "${text}"`);
  }
  const unitMs = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  let ms = 0;
  for (const part of parts) {
    const [, number, unit] = part.match(/^(\d+(?:\.\d+)?)(ms|h|m|s)$/);
    ms += Number(number) * unitMs[unit];
  }
  return { text: normalized, ms: Math.round(ms) };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host) {
  const name = host.toLowerCase();
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

function baseUrl() {
  const url = envString('BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const match = url.match(/^(https?):\/\/(\[[^\]]+\]|[^/:]+)(:\d+)?$/);
  if (!match) {
    throw new Error(`BASE_URL must look like http://host:port (no path), not "${url}"`);
  }
  // A load test is an attack on whatever it points at: anything but this machine needs a deliberate yes.
  if (!isLoopbackHost(match[2]) && !envBool('ALLOW_REMOTE', false)) {
    throw new Error(`BASE_URL ${url} is not a loopback address; set ALLOW_REMOTE=1 to load a remote deployment`);
  }
  return url;
}

/** The cluster's public address (nginx) and the WebSocket URL derived from it. */
export const BASE_URL = baseUrl();
export const WS_URL = `${BASE_URL.replace(/^http/, 'ws')}/ws`;
export const ROOM = envString('ROOM', 'aviator');

/** The stake of every bet in micro-units (default 1 unit). */
export const AMOUNT = envInt('AMOUNT', MICROS_PER_UNIT, 1, 1e15);

/**
 * The run's prefix for usernames and idempotency keys: RUN_ID when given (reuse it to log the same
 * players in again), otherwise a random one chosen once in setup() and handed to every VU.
 */
export function runId(data) {
  const given = envString('RUN_ID', undefined);
  const id = given !== undefined ? given : data && data.runId;
  if (!id || !/^[A-Za-z0-9_.-]{1,16}$/.test(id)) {
    throw new Error(`RUN_ID must be 1 to 16 letters, digits, '_', '.' or '-', not "${id}"`);
  }
  return id;
}

/** A fresh random run prefix, for setup(). */
export function randomRunId() {
  return `lt${Math.floor(Math.random() * 0xffffffff).toString(36)}`;
}

/** A stage list: ramp up to `vus` over `ramp`, hold for `hold`, ramp down over `rampDown`. */
export function rampStages(vus, ramp, hold, rampDown) {
  return [
    { duration: ramp.text, target: vus },
    { duration: hold.text, target: vus },
    { duration: rampDown.text, target: 0 },
  ];
}
