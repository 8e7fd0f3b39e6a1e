// Helpers shared by the player page (play.js) and the admin dashboard (admin.js): the API client with its
// error envelope, money in integer micro-units, a WebSocket that reconnects, charts (the crash curve is
// in curve.js) and a few DOM helpers. Plain ES module, no build step; the pages' content security policy
// allows only scripts and connections of this origin, so nothing here touches inline styles or other hosts.

/** 1 unit = 1,000,000 micro-units. */
export const MICROS_PER_UNIT = 1000000n;
const MICRO_DIGITS = 6;

// ---------------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------------

/** An answer with a 4xx/5xx status, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls the API and returns the parsed JSON body (null for an empty one). Throws ApiError with the
 * server's `{"error":{"code","message"}}` when there is one, otherwise a code made from the status.
 * Options: method, body (sent as JSON), token (Bearer), headers, timeoutMs (default 10 s).
 */
export async function api(path, { method = 'GET', body, token, headers = {}, timeoutMs = 10000 } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, cache: 'no-store' };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  init.signal = controller.signal;
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    const timedOut = error && error.name === 'AbortError';
    throw new ApiError(0, timedOut ? 'timeout' : 'network_error',
      timedOut ? `no answer from the server within ${timeoutMs / 1000} s` : 'the server cannot be reached');
  } finally {
    clearTimeout(timer);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const envelope = data && typeof data === 'object' && data.error;
    if (envelope && typeof envelope.code === 'string') {
      throw new ApiError(response.status, envelope.code, envelope.message || envelope.code);
    }
    throw new ApiError(response.status, `http_${response.status}`,
      `the server answered ${response.status} ${response.statusText}`.trim());
  }
  return data;
}

/** A random id of `bytes` random bytes as hex (works outside secure contexts, unlike randomUUID). */
export function randomId(prefix = '', bytes = 12) {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return prefix + Array.from(buffer, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------------------------------
// Money: integer micro-units, never floats
// ---------------------------------------------------------------------------------------------------

/** A whole number of micro-units from a JSON number, a digit string or a BigInt; null if it is not one. */
export function toMicros(value) {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return null;
}

/**
 * Formats micro-units as units with thousands separators and at least two decimals, exact to the
 * micro-unit: 1500000 → "1.50", 1234567 → "1.234567", -250000 → "-0.25". Returns "–" for no value.
 */
export function formatMicros(value, { sign = false } = {}) {
  const micros = toMicros(value);
  if (micros === null) return '–';
  const negative = micros < 0n;
  const absolute = negative ? -micros : micros;
  const whole = (absolute / MICROS_PER_UNIT).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  let fraction = (absolute % MICROS_PER_UNIT).toString().padStart(MICRO_DIGITS, '0');
  fraction = fraction.replace(/0+$/, '').padEnd(2, '0');
  const prefix = negative ? '-' : (sign && absolute > 0n ? '+' : '');
  return `${prefix}${whole}.${fraction}`;
}

/**
 * Parses an amount typed in units ("1.50", "10", "0.000001") into micro-units as a BigInt, by string
 * arithmetic only. Throws an Error with a message for the player when the text is not such an amount.
 */
export function parseUnits(text) {
  const trimmed = String(text).trim();
  const match = /^(\d{1,12})(?:\.(\d{0,6}))?$/.exec(trimmed);
  if (!match) {
    throw new Error('enter an amount in units, like 1.50 (at most 6 decimals)');
  }
  const micros = BigInt(match[1] + (match[2] || '').padEnd(MICRO_DIGITS, '0'));
  if (micros <= 0n) throw new Error('the amount must be more than zero');
  return micros;
}

/** A BigInt of micro-units as a JSON-safe integer Number (all valid amounts are far below 2^53). */
export function microsToJson(micros) {
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('the amount is too large');
  return Number(micros);
}

/**
 * Parses a multiplier typed like "2.00" or "1.5" (at most two decimals, at least 1.01). Returns it as a
 * Number for the JSON message (the server reads it back into whole hundredths) or null for empty text.
 */
export function parseMultiplier(text) {
  const trimmed = String(text).trim();
  if (trimmed === '') return null;
  const match = /^(\d{1,6})(?:\.(\d{1,2}))?$/.exec(trimmed);
  if (!match) throw new Error('enter the auto cashout as a multiplier like 2.00 (at most 2 decimals)');
  const hundredths = Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'));
  if (hundredths <= 100) throw new Error('the auto cashout must be above 1.00x');
  return hundredths / 100;
}

/** A multiplier as "2.08x". */
export function formatMultiplier(value) {
  const number = Number(value);
  return Number.isFinite(number) ? `${number.toFixed(2)}x` : '–';
}

// ---------------------------------------------------------------------------------------------------
// Formatting and DOM
// ---------------------------------------------------------------------------------------------------

export function formatBytes(bytes) {
  const number = Number(bytes);
  if (!Number.isFinite(number)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = number;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(ms) {
  const number = Number(ms);
  if (!Number.isFinite(number) || number < 0) return '–';
  const seconds = Math.floor(number / 1000);
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds % 60}s`;
  return `${seconds}s`;
}

export function formatTime(iso) {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString();
}

export function formatPercent(ratio, digits = 2) {
  if (ratio === null || ratio === undefined) return '–';
  const number = Number(ratio);
  return Number.isFinite(number) ? `${(number * 100).toFixed(digits)} %` : '–';
}

/** The element with this data-testid (every element a script or a test needs has one). */
export function byTestId(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}

/**
 * Creates an element: el('td', {class: 'num', dataset: {testid: 'x'}, text: '1'}, children...).
 * Text goes through textContent, never innerHTML, so server data cannot inject markup.
 */
export function el(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') element.className = value;
    else if (key === 'text') element.textContent = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key in element && typeof value !== 'string') element[key] = value;
    else element.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/**
 * Shows a balance in micro-units on the page's balance element: its text formatted, its exact value in
 * data-micros (empty for no value). Every view of the player page writes the balance through this.
 */
export function showBalance(element, value) {
  const micros = toMicros(value);
  element.textContent = micros === null ? '–' : formatMicros(micros);
  element.dataset.micros = micros === null ? '' : micros.toString();
}

/** Basis points as a percent with two decimals, by integer arithmetic: 9900 → "99.00 %". */
export function formatBps(bps) {
  const value = toMicros(bps);
  if (value === null) return '–';
  const fraction = (value % 100n).toString().padStart(2, '0');
  return `${value / 100n}.${fraction} %`;
}

export function show(element, visible = true) {
  element.classList.toggle('hidden', !visible);
}

/**
 * Codes with which the server refuses a stake or a deposit to protect the player (their own limits, a
 * self-exclusion, a block). Their messages name the limit, so they are shown as they come.
 */
export const REFUSAL_CODES = new Set([
  'player_blocked', 'self_excluded', 'deposit_limit_reached', 'loss_limit_reached', 'wager_limit_reached',
  'session_time_limit_reached',
]);

const REFUSAL_TITLES = {
  player_blocked: 'Your account is blocked',
  self_excluded: 'You are excluded from play',
  deposit_limit_reached: 'Deposit limit reached',
  loss_limit_reached: 'Loss limit reached',
  wager_limit_reached: 'Wager limit reached',
  session_time_limit_reached: 'Session time limit reached',
};

/**
 * Shows a refusal where the bet was placed: in the `[data-refusal]` box of the view on screen, which
 * stays until the next bet of that view clears it (clearRefusals). False when `code` is no refusal.
 */
export function showRefusal(code, text) {
  if (!REFUSAL_CODES.has(code)) return false;
  // The view on screen: the player's, inside the game section (hidden before log-in).
  const view = document.querySelector('.game:not(.hidden) [data-view]:not(.hidden)');
  const box = view && view.querySelector('[data-refusal]');
  if (box) {
    box.replaceChildren(el('strong', { text: `${REFUSAL_TITLES[code]}: ` }), text);
    box.dataset.code = code;
    show(box, true);
  }
  return true;
}

/** Hides the refusal boxes (a new bet is on its way). */
export function clearRefusals() {
  for (const box of document.querySelectorAll('[data-refusal]')) {
    box.dataset.code = '';
    show(box, false);
  }
}

/** The fade timer of each message element, shared by every messageArea of that element. */
const messageTimers = new WeakMap();

/**
 * A message area: show(text, kind) with kind 'error', 'info' or 'ok'; info and ok messages fade after
 * a while, errors stay until the next message or a click on them. Several scripts of one page may each
 * make one for the same element: a message from one cancels the fading of another's.
 */
export function messageArea(element) {
  element.addEventListener('click', () => show(element, false));
  return {
    show(text, kind = 'error') {
      clearTimeout(messageTimers.get(element));
      element.textContent = text;
      element.dataset.kind = kind;
      element.className = `message message-${kind}`;
      show(element, true);
      if (kind !== 'error') messageTimers.set(element, setTimeout(() => show(element, false), 6000));
    },
    error(error) {
      if (error instanceof ApiError) {
        showRefusal(error.code, error.message);
        this.show(`${error.message} (${error.code})`, 'error');
      } else this.show(error && error.message ? error.message : String(error), 'error');
    },
    clear() {
      clearTimeout(messageTimers.get(element));
      show(element, false);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// WebSocket with reconnect
// ---------------------------------------------------------------------------------------------------

/** ws: or wss: URL of a path on this host, for the page's own origin. */
export function socketUrl(path, params) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams(params).toString();
  return `${scheme}//${location.host}${path}${query ? `?${query}` : ''}`;
}

/** Close codes of the game server (README, WebSocket protocol). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNAUTHENTICATED = 4001;
export const CLOSE_TOKEN_REVOKED = 4003;

/**
 * A WebSocket that reconnects with exponential backoff (0.5 s doubling to 10 s, with jitter) until
 * close() is called. A close with 1001 (the node is draining) reconnects at once: nginx sends the new
 * socket to another node. Hooks: onMessage(object), onOpen(), onClose({code, reason, wasOpen}),
 * onStatus(text). onClose may return false to stop reconnecting (for example after 4001).
 */
export class ReconnectingSocket {
  constructor(urlFactory, hooks = {}) {
    this.urlFactory = urlFactory;
    this.hooks = hooks;
    this.socket = null;
    this.stopped = false;
    this.attempts = 0;
    this.timer = null;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    this.status('connecting');
    const socket = new WebSocket(this.urlFactory());
    this.socket = socket;
    let wasOpen = false;
    socket.addEventListener('open', () => {
      wasOpen = true;
      this.attempts = 0;
      this.status('connected');
      if (this.hooks.onOpen) this.hooks.onOpen();
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (this.hooks.onMessage) this.hooks.onMessage(message);
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      const info = { code: event.code, reason: event.reason, wasOpen };
      const keepGoing = this.hooks.onClose ? this.hooks.onClose(info) : true;
      if (keepGoing === false) {
        this.stopped = true;
        this.status('closed');
        return;
      }
      this.schedule(event.code === CLOSE_GOING_AWAY ? 0 : this.backoffMs());
    });
  }

  backoffMs() {
    const base = Math.min(10000, 500 * 2 ** this.attempts);
    this.attempts += 1;
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  schedule(delayMs) {
    clearTimeout(this.timer);
    this.status(delayMs === 0 ? 'reconnecting' : `reconnecting in ${(delayMs / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => this.connect(), delayMs);
  }

  status(text) {
    if (this.hooks.onStatus) this.hooks.onStatus(text);
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends a message; false when the socket is not open (the caller tells the user). */
  send(message) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, 'closed by the page');
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Charts (uPlot, loaded before the page's module as the global `uPlot`)
// ---------------------------------------------------------------------------------------------------

export const COLORS = {
  text: '#c9d1e0',
  grid: 'rgba(201, 209, 224, 0.10)',
  accent: '#35d07f',
  crashed: '#ff5468',
  gold: '#f5c451',
  blue: '#5aa9ff',
  violet: '#b48cff',
};

export function axis(extra = {}) {
  return { stroke: COLORS.text, grid: { stroke: COLORS.grid, width: 1 }, ticks: { stroke: COLORS.grid }, ...extra };
}

/** Width for a chart in `container`, with a floor so hidden containers still get a usable size. */
export function chartWidth(container) {
  return Math.max(240, Math.floor(container.clientWidth || container.getBoundingClientRect().width || 0));
}

const resizables = new Set();
let resizeQueued = false;
window.addEventListener('resize', () => {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    for (const chart of resizables) chart.resize();
  });
});

/** Resizes `chart` (anything with resize()) with the window, until unwatchResize(chart). */
export function watchResize(chart) {
  resizables.add(chart);
}

export function unwatchResize(chart) {
  resizables.delete(chart);
}

/**
 * A general chart: `series` is [{label, color, bars?, scale?}], `xValues` optionally labels the x axis
 * (for categories: x = 0, 1, 2 ... and xValues(i) = the name). update(data) redraws it, with data as
 * uPlot wants it: [xs, ys1, ys2, ...].
 */
export function createChart(container, {
  height = 220, series, xTime = false, xValues, xSplits, yValues, y2Values, yLog = false,
} = {}) {
  const hasScale2 = series.some((entry) => entry.scale === 'y2');
  const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
  const xAxis = {};
  if (xValues) Object.assign(xAxis, { values: (u, splits) => splits.map((value) => xValues(value)), space: 40 });
  if (xSplits) xAxis.splits = () => xSplits();
  const axes = [
    axis(xAxis),
    axis(yValues ? { values: (u, splits) => splits.map(yValues), size: 60 } : { size: 60 }),
  ];
  if (hasScale2) axes.push(axis({ side: 1, scale: 'y2', grid: { show: false }, size: 70,
    values: y2Values ? (u, splits) => splits.map(y2Values) : undefined }));
  const opts = {
    width: chartWidth(container),
    height,
    legend: { show: true },
    scales: {
      x: xSplits ? { time: xTime, range: (u, min, max) => [(min ?? 0) - 1, (max ?? 0) + 1] }
        : { time: xTime, range: (u, min, max) => (min === max ? [(min ?? 0) - 60, (max ?? 0) + 60] : [min, max]) },
      y: yLog ? { distr: 3, log: 10, range: (u, min, max) => [1, Math.max(10, max ?? 1)] }
        : { range: (u, min, max) => [Math.min(0, min ?? 0), Math.max(max ?? 1, 1)] },
      ...(hasScale2 ? { y2: { range: (u, min, max) => [0, Math.max(max, 1)] } } : {}) },
    axes,
    series: [
      { label: 'x', value: xValues ? (u, value) => (value === null ? '–' : xValues(value)) : undefined },
      ...series.map((entry) => ({
        label: entry.label,
        stroke: entry.color,
        width: entry.bars ? 1 : 2,
        fill: entry.bars ? entry.color : undefined,
        scale: entry.scale || 'y',
        paths: entry.bars ? bars : undefined,
        points: { show: !entry.bars && entry.points !== false },
        dash: entry.dash,
        spanGaps: Boolean(entry.spanGaps),
        value: entry.format ? (u, value) => (value === null ? '–' : entry.format(value)) : undefined,
      })),
    ],
  };
  const empty = [[], ...series.map(() => [])];
  const plot = new uPlot(opts, empty, container);
  const chart = {
    plot,
    update(data) {
      plot.setData(data);
    },
    resize() {
      plot.setSize({ width: chartWidth(container), height });
    },
    destroy() {
      unwatchResize(chart);
      plot.destroy();
    },
  };
  watchResize(chart);
  return chart;
}
