// The admin dashboard: after the operator logs in, it polls the admin API (cluster every second, rounds
// and actions every 5 s, stats, the last audit and the catalog every 10 s), follows each room live through a
// spectator WebSocket, and offers the operator controls (pause and resume betting, broadcast, drain a
// node, run the audit). Nothing is fetched or shown before log-in, and any 401 returns to the form.

import {
  api, ApiError, byTestId, COLORS, createChart, el, formatBytes, formatDuration, formatMicros,
  formatMultiplier, formatPercent, formatTime, messageArea, ReconnectingSocket, show, socketUrl, toMicros,
  CLOSE_UNAUTHENTICATED,
} from './common.js';
import { createCurve, formatHundredths } from './curve.js';

const TOKEN_KEY = 'gc.admin.token';
const ADMIN = '/api/v1/admin';
const BROADCAST_LENGTH_MAX = 500;
const ROOM_COLORS = [COLORS.accent, COLORS.blue, COLORS.gold, COLORS.violet, COLORS.crashed];

const ui = {
  bar: byTestId('admin-bar'),
  answeredBy: byTestId('answered-by'),
  lastUpdate: byTestId('last-update'),
  logout: byTestId('admin-logout'),
  login: byTestId('admin-login'),
  loginForm: byTestId('admin-login-form'),
  username: byTestId('admin-username'),
  password: byTestId('admin-password'),
  loginError: byTestId('admin-login-error'),
  dashboard: byTestId('dashboard'),
  rooms: byTestId('rooms'),
  nodes: byTestId('nodes-table').querySelector('tbody'),
  redis: byTestId('redis'),
  postgres: byTestId('postgres'),
  activityChart: byTestId('activity-chart'),
  auditStatus: byTestId('audit-status'),
  runAudit: byTestId('run-audit'),
  auditBreaches: byTestId('audit-breaches'),
  rtp: byTestId('rtp-table').querySelector('tbody'),
  slots: byTestId('slots-table').querySelector('tbody'),
  rtpChart: byTestId('rtp-chart'),
  roundsChart: byTestId('rounds-chart'),
  rounds: byTestId('rounds-table').querySelector('tbody'),
  broadcastForm: byTestId('broadcast-form'),
  broadcastMessage: byTestId('broadcast-message'),
  actions: byTestId('actions-list'),
  providers: byTestId('providers-table').querySelector('tbody'),
  providerForm: byTestId('provider-form'),
  catalogFilter: byTestId('catalog-provider-filter'),
  openRounds: byTestId('open-rounds-table').querySelector('tbody'),
  openRoundsNote: byTestId('open-rounds-note'),
  catalogGames: byTestId('catalog-games-table').querySelector('tbody'),
  catalogCount: byTestId('catalog-games-count'),
  importForm: byTestId('import-form'),
  importProvider: byTestId('import-provider'),
  importJson: byTestId('import-json'),
};
const message = messageArea(byTestId('admin-message'));

const session = {
  token: null,
  /** Grows on every log-in and log-out, so that pollers of an old session stop. */
  generation: 0,
  pollers: [],
  /** room name → {card parts, curve, socket, live state} */
  rooms: new Map(),
  /** node id → {row, cells} */
  nodes: new Map(),
  confirmingDrain: null,
  charts: {},
};

// ---------------------------------------------------------------------------------------------------
// Log-in and the authenticated API
// ---------------------------------------------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  show(ui.loginError, false);
  try {
    const answer = await api(`${ADMIN}/login`, {
      method: 'POST', body: { username: ui.username.value.trim(), password: ui.password.value },
    });
    sessionStorage.setItem(TOKEN_KEY, answer.token);
    ui.password.value = '';
    start();
  } catch (error) {
    ui.loginError.textContent = error instanceof ApiError ? `${error.message} (${error.code})` : String(error.message || error);
    show(ui.loginError, true);
  }
}

/** Back to the log-in form: stops polling, closes the spectator sockets, forgets the token. */
function logout(reason) {
  session.generation += 1;
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  for (const poller of session.pollers) clearTimeout(poller.timer);
  session.pollers = [];
  for (const room of session.rooms.values()) {
    room.socket.close();
    room.curve.destroy();
  }
  session.rooms.clear();
  ui.rooms.replaceChildren();
  session.nodes.clear();
  ui.nodes.replaceChildren();
  ui.providers.replaceChildren();
  ui.catalogGames.replaceChildren();
  ui.openRounds.replaceChildren();
  for (const chart of Object.values(session.charts)) chart.destroy();
  session.charts = {};
  show(ui.dashboard, false);
  show(ui.bar, false);
  show(ui.login, true);
  message.clear();
  if (reason) {
    ui.loginError.textContent = reason;
    show(ui.loginError, true);
  }
}

/** An admin API call; a 401 (expired or refused token) ends the session. */
async function adminApi(path, options = {}) {
  const generation = session.generation;
  try {
    return await api(`${ADMIN}${path}`, { ...options, token: session.token });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && generation === session.generation) {
      logout(`Please log in again: ${error.message}`);
    }
    throw error;
  }
}

function start() {
  session.token = sessionStorage.getItem(TOKEN_KEY);
  if (!session.token) return;
  session.generation += 1;
  show(ui.login, false);
  show(ui.loginError, false);
  show(ui.bar, true);
  show(ui.dashboard, true);
  createCharts();
  poll('cluster', '/cluster', 1000, renderCluster);
  poll('stats', '/stats', 10000, renderStats);
  poll('rounds', '/rounds?limit=20', 5000, renderRounds);
  poll('actions', '/actions?limit=20', 5000, renderActions);
  poll('audit', '/audit/last', 10000, renderLastAudit);
  poll('catalog', '/providers', 10000, renderCatalog);
  poll('open-rounds', '/provider-rounds/open?limit=100', 10000, renderOpenRounds);
}

/**
 * Calls `path` now and then every `everyMs` after each answer (never two at once), handing the answer
 * to `render`. Failures other than 401 are shown and polling goes on.
 */
function poll(name, path, everyMs, render) {
  const generation = session.generation;
  const poller = { name, timer: null, run: null };
  poller.run = async () => {
    clearTimeout(poller.timer);
    try {
      const answer = await adminApi(path);
      if (generation !== session.generation) return;
      render(answer);
      markFresh(name, true);
    } catch (error) {
      if (generation !== session.generation) return;
      markFresh(name, false);
      if (!(error instanceof ApiError && error.status === 401)) message.show(`${name}: ${error.message}`, 'error');
    }
    if (generation === session.generation) poller.timer = setTimeout(poller.run, everyMs);
  };
  session.pollers.push(poller);
  poller.run();
}

/** Refreshes one poller at once (after an operator action). */
function refresh(name) {
  const poller = session.pollers.find((entry) => entry.name === name);
  if (poller) poller.run();
}

function markFresh(name, ok) {
  if (name !== 'cluster') return;
  ui.lastUpdate.textContent = ok ? `updated ${new Date().toLocaleTimeString()}` : 'cluster state unavailable';
  ui.dashboard.classList.toggle('stale', !ok);
}

// ---------------------------------------------------------------------------------------------------
// Cluster: nodes, Redis, Postgres, rooms
// ---------------------------------------------------------------------------------------------------

function renderCluster(cluster) {
  ui.answeredBy.textContent = cluster.answered_by ? `answered by ${cluster.answered_by}` : '';
  ui.dashboard.dataset.answeredBy = cluster.answered_by || '';
  renderNodes(cluster.nodes || [], cluster.generated_at);
  renderRedis(cluster.redis || {});
  renderPostgres(cluster.postgres || {});
  for (const room of cluster.rooms || []) renderRoom(room);
}

function badge(text, kind, testid) {
  return el('span', { class: `badge badge-${kind}`, text, dataset: testid ? { testid } : undefined });
}

function renderNodes(nodes, generatedAt) {
  const now = generatedAt ? Date.parse(generatedAt) : Date.now();
  const seen = new Set();
  for (const node of nodes) {
    seen.add(node.node_id);
    let entry = session.nodes.get(node.node_id);
    if (!entry) {
      entry = createNodeRow(node.node_id);
      session.nodes.set(node.node_id, entry);
    }
    updateNodeRow(entry, node, now);
  }
  for (const [id, entry] of session.nodes) {
    if (!seen.has(id)) {
      entry.row.remove();
      session.nodes.delete(id);
    }
  }
  // Keep the rows in the order of the answer (node-1, node-2, …).
  for (const node of nodes) ui.nodes.append(session.nodes.get(node.node_id).row);
}

function createNodeRow(nodeId) {
  const cells = {};
  const names = ['id', 'url', 'version', 'health', 'connections', 'leads', 'cpu', 'rss', 'uptime', 'controls'];
  const numeric = new Set(['connections', 'cpu', 'rss', 'uptime']);
  const row = el('tr', { class: 'node-row', dataset: { testid: 'node-row', nodeId } });
  for (const name of names) {
    cells[name] = el('td', { class: numeric.has(name) ? 'num' : undefined, dataset: { testid: `node-${name}` } });
    row.append(cells[name]);
  }
  cells.id.textContent = nodeId;
  return { row, cells, controlsFor: null };
}

function updateNodeRow(entry, node, now) {
  const { row, cells } = entry;
  const healthy = Boolean(node.healthy);
  const draining = Boolean(node.draining);
  row.dataset.healthy = String(healthy);
  row.dataset.draining = String(draining);
  row.classList.toggle('unhealthy', !healthy);
  row.classList.toggle('draining', draining);
  cells.url.textContent = node.url || '–';
  cells.version.textContent = node.version || '–';
  cells.health.replaceChildren(
    badge(healthy ? 'healthy' : 'unhealthy', healthy ? 'ok' : 'bad', 'node-health-badge'),
    draining ? ' ' : '',
    draining ? badge('draining', 'warn', 'node-draining-badge') : '',
  );
  cells.connections.textContent = node.connections ?? '–';
  cells.leads.textContent = (node.leader_of || []).join(', ') || '–';
  const load = node.load || {};
  cells.cpu.textContent = load.cpu_percent === undefined || load.cpu_percent === null ? '–' : `${Number(load.cpu_percent).toFixed(1)} %`;
  cells.rss.textContent = load.rss_bytes === undefined || load.rss_bytes === null ? '–' : formatBytes(load.rss_bytes);
  cells.uptime.textContent = node.started_at ? formatDuration(now - Date.parse(node.started_at)) : '–';
  const controlsState = `${session.confirmingDrain === node.node_id}:${draining}`;
  if (entry.controlsFor !== controlsState) {
    entry.controlsFor = controlsState;
    cells.controls.replaceChildren(drainControls(node.node_id, draining));
  }
}

function drainControls(nodeId, draining) {
  if (draining) return el('span', { class: 'muted', text: 'draining…' });
  if (session.confirmingDrain !== nodeId) {
    return el('button', {
      type: 'button', class: 'button-danger button-small', text: 'Drain',
      dataset: { testid: 'drain-button', nodeId },
      onclick: () => setConfirmingDrain(nodeId),
    });
  }
  return el('span', { class: 'confirm' },
    el('span', { text: `Drain ${nodeId}?` }),
    el('button', { type: 'button', class: 'button-danger button-small', text: 'Confirm',
      dataset: { testid: 'drain-confirm', nodeId }, onclick: () => drain(nodeId) }),
    el('button', { type: 'button', class: 'button-ghost button-small', text: 'Cancel',
      dataset: { testid: 'drain-cancel', nodeId }, onclick: () => setConfirmingDrain(null) }));
}

function setConfirmingDrain(nodeId) {
  session.confirmingDrain = nodeId;
  for (const [id, entry] of session.nodes) {
    entry.controlsFor = null;
    entry.cells.controls.replaceChildren(drainControls(id, entry.row.dataset.draining === 'true'));
    entry.controlsFor = `${session.confirmingDrain === id}:${entry.row.dataset.draining === 'true'}`;
  }
}

async function drain(nodeId) {
  setConfirmingDrain(null);
  try {
    await adminApi(`/nodes/${encodeURIComponent(nodeId)}/drain`, { method: 'POST' });
    message.show(`${nodeId} is draining: it hands its rooms over and its players reconnect elsewhere`, 'ok');
  } catch (error) {
    message.error(error);
  }
  refresh('cluster');
  refresh('actions');
}

function keyValues(target, pairs) {
  target.replaceChildren(...pairs.flatMap(([key, value, testid]) => [
    el('dt', { text: key }),
    el('dd', { dataset: testid ? { testid } : undefined }, value instanceof Node ? value : String(value ?? '–')),
  ]));
}

function okBadge(ok, testid) {
  if (ok === null || ok === undefined) return '–';
  return badge(ok ? 'ok' : 'down', ok ? 'ok' : 'bad', testid);
}

function renderRedis(redis) {
  keyValues(ui.redis, [
    ['Status', okBadge(redis.ok, 'redis-ok')],
    ['Mode', redis.mode, 'redis-mode'],
    ['Primary', redis.primary, 'redis-primary'],
    ['Service', redis.service],
    ['Failovers', redis.failovers === null || redis.failovers === undefined ? '–' : redis.failovers, 'redis-failovers'],
    ['Sentinels', redis.sentinels, 'redis-sentinels'],
  ]);
}

function renderPostgres(postgres) {
  const lag = postgres.replica_lag_ms === null || postgres.replica_lag_ms === undefined
    ? '–' : `${Number(postgres.replica_lag_ms).toFixed(0)} ms`;
  keyValues(ui.postgres, [
    ['Primary', okBadge(postgres.primary_ok, 'postgres-primary-ok')],
    ['Replica', postgres.replica_configured === false ? 'not configured' : okBadge(postgres.replica_ok, 'postgres-replica-ok')],
    ['Replica lag', lag, 'postgres-replica-lag'],
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Rooms: a card per room with its live curve (spectator socket) and the pause controls
// ---------------------------------------------------------------------------------------------------

function renderRoom(room) {
  let entry = session.rooms.get(room.room);
  if (!entry) {
    entry = createRoomCard(room.room);
    session.rooms.set(room.room, entry);
  }
  const leader = room.leader;
  entry.leader.textContent = leader || 'none';
  entry.leader.dataset.leader = leader || '';
  entry.round.textContent = room.round_id ?? '–';
  // The spectator socket is more current than the poll; the poll serves while it is down.
  if (!entry.socket.isOpen) {
    setRoomPhase(entry, room.phase, room.multiplier);
  }
  setRoomPaused(entry, Boolean(room.betting_paused), room.paused);
}

function createRoomCard(name) {
  const part = (tag, testid, props = {}, ...children) => el(tag, { ...props, dataset: { testid, room: name } }, ...children);
  const entry = {
    name,
    phase: part('span', 'room-phase', { class: 'phase' }),
    multiplier: part('span', 'room-multiplier', { class: 'room-multiplier', text: '–' }),
    round: part('span', 'room-round'),
    leader: part('span', 'room-leader'),
    paused: part('span', 'room-paused', { class: 'badge' }),
    pausedInfo: part('span', 'room-paused-info', { class: 'muted' }),
    connection: part('span', 'room-connection', { class: 'muted' }),
    curveBox: part('div', 'room-curve', { class: 'curve' }),
    reason: part('input', 'pause-reason', { placeholder: 'reason (optional)', maxlength: '200' }),
    pause: part('button', 'pause-button', { type: 'button', class: 'button-warn button-small', text: 'Pause betting' }),
    resume: part('button', 'resume-button', { type: 'button', class: 'button-small', text: 'Resume betting' }),
    roundId: null,
  };
  entry.card = part('div', 'room-card', { class: 'room-card' },
    el('div', { class: 'room-head' }, el('span', { class: 'room-name', text: name }), entry.phase, entry.paused, entry.multiplier),
    el('div', { class: 'room-meta' },
      el('span', {}, 'round ', entry.round), el('span', {}, 'leader ', entry.leader), entry.pausedInfo, entry.connection),
    entry.curveBox,
    el('div', { class: 'room-controls' }, entry.reason, entry.pause, entry.resume));
  ui.rooms.append(entry.card);
  entry.curve = createCurve(entry.curveBox, { height: 200, onFrame: (frame) => showCurveFrame(entry, frame) });
  entry.pause.addEventListener('click', () => pauseRoom(entry));
  entry.resume.addEventListener('click', () => resumeRoom(entry));
  setRoomPaused(entry, false, null);
  entry.socket = spectate(entry);
  return entry;
}

function spectate(entry) {
  const generation = session.generation;
  return new ReconnectingSocket(() => socketUrl('/ws', { room: entry.name, token: session.token }), {
    onMessage: (event) => onRoomEvent(entry, event),
    onStatus(text) {
      entry.connection.textContent = `live: ${text}`;
      entry.connection.dataset.state = text.split(' ')[0];
    },
    onClose({ code, wasOpen }) {
      if (code === CLOSE_UNAUTHENTICATED && generation === session.generation) {
        // The token no longer opens sockets: ask the API, whose 401 ends the session.
        refresh('cluster');
      }
      if (!wasOpen && generation === session.generation) refresh('cluster');
      return generation === session.generation;
    },
  });
}

function onRoomEvent(entry, event) {
  switch (event.type) {
    case 'initial_state':
      applyRoomState(entry, event);
      break;
    case 'resync':
      if (event.state) applyRoomState(entry, event.state);
      break;
    case 'round_start':
      entry.roundId = event.round_id;
      entry.round.textContent = event.round_id;
      entry.curve.reset(event.round_id);
      setRoomPhase(entry, 'betting', 1);
      break;
    case 'round_running':
      entry.roundId = event.round_id;
      entry.curve.setTickInterval(event.tick_interval_ms);
      entry.curve.reset(event.round_id);
      entry.curve.follow(event.round_id, 0);
      setRoomPhase(entry, 'running', 1);
      break;
    case 'tick':
      if (entry.phase.dataset.phase !== 'running') setRoomPhase(entry, 'running', event.multiplier);
      entry.curve.tick(event);
      break;
    case 'crash':
      entry.curve.crashed(event.round_id, event.elapsed_ms, event.crash_point);
      setRoomPhase(entry, 'crashed', event.crash_point);
      refresh('rounds');
      break;
    case 'round_aborted':
      setRoomPhase(entry, 'starting', null);
      break;
    case 'betting_paused':
      setRoomPaused(entry, true, { reason: event.reason });
      break;
    case 'betting_resumed':
      setRoomPaused(entry, false, null);
      break;
    default:
      break;
  }
}

function applyRoomState(entry, state) {
  entry.roundId = state.round_id ?? null;
  entry.round.textContent = state.round_id ?? '–';
  entry.curve.setTickInterval(state.tick_interval_ms);
  const running = state.phase === 'running';
  // A running round's elapsed time is the last tick's: a reading like a tick's (the curve goes on, never
  // back), and the room's number is left to the curve's next frame.
  if (running && state.elapsed_ms !== undefined) entry.curve.follow(state.round_id, state.elapsed_ms);
  else if (state.phase === 'crashed') entry.curve.crashed(state.round_id, state.elapsed_ms, state.crash_point ?? state.multiplier);
  else entry.curve.reset(state.round_id);
  if (!running || entry.phase.dataset.phase !== 'running') {
    setRoomPhase(entry, state.phase, state.phase === 'crashed' ? (state.crash_point ?? state.multiplier) : state.multiplier);
  }
  if (state.betting_paused !== undefined) setRoomPaused(entry, Boolean(state.betting_paused), null);
}

/** Each frame of a running round's curve: the room's number follows it and says when ticks stopped. */
function showCurveFrame(entry, { hundredths, stalled, crashed }) {
  if (entry.phase.dataset.phase !== 'running' || crashed) return;
  entry.multiplier.textContent = formatHundredths(hundredths);
  entry.multiplier.dataset.stalled = String(stalled);
  entry.multiplier.classList.toggle('multiplier-stalled', stalled);
}

function setRoomPhase(entry, phase, multiplier) {
  const name = phase || 'starting';
  entry.phase.textContent = name;
  entry.phase.className = `phase phase-${name}`;
  entry.phase.dataset.phase = name;
  entry.multiplier.textContent = multiplier === null || multiplier === undefined ? '–' : formatMultiplier(multiplier);
  entry.multiplier.className = `room-multiplier multiplier-${name}`;
}

function setRoomPaused(entry, paused, details) {
  entry.card.classList.toggle('is-paused', paused);
  entry.card.dataset.paused = String(paused);
  entry.paused.dataset.paused = String(paused);
  entry.paused.textContent = paused ? 'betting paused' : 'betting allowed';
  entry.paused.className = `badge ${paused ? 'badge-paused' : 'badge-ok'}`;
  if (!paused) entry.pausedInfo.textContent = '';
  else if (details) {
    const parts = [details.by && `by ${details.by}`, details.at && `at ${formatTime(details.at)}`, details.reason && `“${details.reason}”`];
    entry.pausedInfo.textContent = parts.filter(Boolean).join(' ');
  }
  entry.pause.disabled = paused;
  entry.resume.disabled = !paused;
}

async function pauseRoom(entry) {
  const reason = entry.reason.value.trim();
  entry.pause.disabled = true;
  try {
    await adminApi(`/rooms/${encodeURIComponent(entry.name)}/pause`, { method: 'POST', body: reason ? { reason } : {} });
    setRoomPaused(entry, true, { reason });
    message.show(`betting paused in ${entry.name}`, 'ok');
  } catch (error) {
    entry.pause.disabled = false;
    message.error(error);
  }
  refresh('cluster');
  refresh('actions');
}

async function resumeRoom(entry) {
  entry.resume.disabled = true;
  try {
    await adminApi(`/rooms/${encodeURIComponent(entry.name)}/resume`, { method: 'POST' });
    setRoomPaused(entry, false, null);
    message.show(`betting resumes in ${entry.name} with the next round`, 'ok');
  } catch (error) {
    entry.resume.disabled = false;
    message.error(error);
  }
  refresh('cluster');
  refresh('actions');
}

// ---------------------------------------------------------------------------------------------------
// Stats, rounds, audit, actions, broadcast
// ---------------------------------------------------------------------------------------------------

/** Micro-units as a Number of units, for charts only (tables show exact strings). */
function unitsForChart(micros) {
  const value = toMicros(micros);
  if (value === null) return null;
  return Number(value / 1000n) / 1000;
}

function createCharts() {
  session.charts.activity = createChart(ui.activityChart, {
    xTime: true,
    series: [
      { label: 'bets / minute', color: COLORS.blue, bars: true },
      { label: 'wagered (units)', color: COLORS.gold, scale: 'y2', points: false, format: (value) => value.toFixed(2) },
    ],
    y2Values: (value) => value.toLocaleString(),
  });
  session.charts.rtp = createChart(ui.rtpChart, {
    series: [
      { label: 'RTP hour', color: COLORS.blue, bars: true, format: (value) => `${value.toFixed(2)} %` },
      { label: 'RTP day', color: COLORS.violet, bars: true, format: (value) => `${value.toFixed(2)} %` },
      { label: 'declared', color: COLORS.accent, bars: true, format: (value) => `${value.toFixed(2)} %` },
    ],
    xValues: (value) => (session.rtpLabels && session.rtpLabels[value]) || '',
    xSplits: () => Object.keys(session.rtpLabels || {}).map(Number),
    yValues: (value) => `${value} %`,
  });
  session.charts.rounds = createChart(ui.roundsChart, {
    height: 180,
    xTime: true,
    series: [],
  });
}

function renderStats(stats) {
  const minutes = stats.per_minute || [];
  session.charts.activity.update([
    minutes.map((entry) => Date.parse(entry.minute) / 1000),
    minutes.map((entry) => entry.bets ?? 0),
    minutes.map((entry) => unitsForChart(entry.wagered) ?? 0),
  ]);
  ui.activityChart.dataset.points = String(minutes.length);

  const games = stats.games || [];
  ui.rtp.replaceChildren(...games.map(rtpRow));
  const slotGames = games.filter((game) => game.provider === 'house' && game.category === 'slots');
  ui.slots.replaceChildren(...slotGames.map((game) => el('tr', { dataset: { testid: 'slot-row', game: game.code } },
    el('td', { text: game.code, title: game.name }),
    el('td', { class: 'num', text: formatBps(game.declared_rtp_bps) }),
    measuredCell(game.hour),
    measuredCell(game.day),
    el('td', { class: 'num', text: (game.rounds_per_minute ?? 0).toFixed(1) }),
    el('td', { class: 'num', dataset: { testid: 'slot-open-bonus' }, text: String(game.open_bonus_rounds ?? 0) }),
    profitCell(game.day.house_profit_micros))));
  if (stats.totals) {
    const { hour = {}, day = {}, days_30: month = {} } = stats.totals;
    ui.rtp.append(el('tr', { class: 'total', dataset: { testid: 'rtp-total' } },
      el('th', { text: 'all games' }), el('td', { class: 'num', text: '' }),
      el('td', { class: 'num', text: formatBps(hour.measured_rtp_bps) }),
      el('td', { class: 'num', text: formatBps(day.measured_rtp_bps) }),
      el('td', { class: 'num', text: formatBps(month.measured_rtp_bps) }),
      el('td', { class: 'num', text: '' }),
      el('td', { class: 'num', text: day.rounds ?? '–' }),
      profitCell(hour.house_profit_micros), profitCell(day.house_profit_micros), el('td', { text: '' })));
  }

  // Grouped bars of the games played today: game i occupies x = 4i (hour), 4i+1 (day), 4i+2 (declared);
  // 4i+3 is the gap.
  const charted = games.filter((game) => game.day.rounds > 0);
  const xs = [];
  const hourSeries = [];
  const daySeries = [];
  const declaredSeries = [];
  session.rtpLabels = {};
  charted.forEach((game, index) => {
    session.rtpLabels[index * 4 + 1] = gameLabel(game);
    for (let slot = 0; slot < 4; slot += 1) {
      xs.push(index * 4 + slot);
      hourSeries.push(slot === 0 ? bpsPercent(game.hour.measured_rtp_bps) : null);
      daySeries.push(slot === 1 ? bpsPercent(game.day.measured_rtp_bps) : null);
      declaredSeries.push(slot === 2 ? bpsPercent(game.declared_rtp_bps) : null);
    }
  });
  session.charts.rtp.update([xs, hourSeries, daySeries, declaredSeries]);
}

/** Our own games by their code, outside games as provider:code. */
function gameLabel(game) {
  return game.provider === 'house' ? game.code : `${game.provider}:${game.code}`;
}

/** Basis points (integers from the API) as a percentage. */
function formatBps(bps) {
  return bps === null || bps === undefined ? '–' : formatPercent(Number(bps) / 10000);
}

function bpsPercent(bps) {
  return bps === null || bps === undefined ? null : Number(bps) / 100;
}

/** A window's measured RTP, in red when it is outside the band its rounds allow. */
function measuredCell(figures) {
  const band = figures.band ? `band ${formatBps(figures.band.low_bps)} to ${formatBps(figures.band.high_bps)}, ` : '';
  return el('td', {
    class: `num${figures.flagged ? ' negative' : ''}`,
    title: `${band}${figures.rounds} rounds`,
    text: formatBps(figures.measured_rtp_bps),
  });
}

/** One catalog game's returns: measured over the hour, day and 30 days against its declared RTP. */
function rtpRow(game) {
  const band = game.day.band ? `${formatBps(game.day.band.low_bps)} – ${formatBps(game.day.band.high_bps)}` : '–';
  const status = game.flagged
    ? el('span', { class: 'badge badge-bad', dataset: { testid: 'rtp-flag' }, text: 'out of band' })
    : el('span', { class: 'badge badge-ok', text: 'ok' });
  return el('tr', {
    class: game.flagged ? 'flagged' : '',
    dataset: { testid: 'rtp-row', game: game.code, provider: game.provider, flagged: String(game.flagged) },
  },
  el('td', { text: gameLabel(game), title: game.name }),
  el('td', { class: 'num', text: formatBps(game.declared_rtp_bps) }),
  measuredCell(game.hour),
  measuredCell(game.day),
  measuredCell(game.days_30),
  el('td', { class: 'num', text: band }),
  el('td', { class: 'num', text: String(game.day.rounds) }),
  profitCell(game.hour.house_profit_micros),
  profitCell(game.day.house_profit_micros),
  el('td', {}, status));
}

function profitCell(micros) {
  const value = toMicros(micros);
  return el('td', { class: `num ${value !== null && value < 0n ? 'negative' : 'positive'}`, text: formatMicros(micros) });
}

function renderRounds(answer) {
  const rounds = answer.rounds || [];
  ui.rounds.replaceChildren(...rounds.map((round) => el('tr', { dataset: { testid: 'round-row', room: round.room } },
    el('td', { text: round.room }),
    el('td', { class: 'num', text: round.round_id }),
    el('td', { class: `num ${Number(round.crash_point) >= 2 ? 'positive' : 'negative'}`, text: formatMultiplier(round.crash_point) }),
    el('td', { class: 'hash', title: round.hash || '', text: round.hash || '–' }),
    el('td', { text: formatTime(round.crashed_at) }),
    el('td', { class: 'num', text: round.bets ?? '–' }),
    el('td', { class: 'num', text: round.wagered === undefined ? '–' : formatMicros(round.wagered) }),
    el('td', { class: 'num', text: round.paid === undefined ? '–' : formatMicros(round.paid) }))));
  if (rounds.length === 0) ui.rounds.append(el('tr', {}, el('td', { colSpan: 8, class: 'muted', text: 'No rounds yet.' })));
  renderRoundsChart(rounds);
}

/** Labels a log axis at 1, 2, 5, 10, 20, 50 … only, so the labels never crowd. */
function logLabel(value) {
  if (value === null || value === undefined || value <= 0) return '';
  const mantissa = Math.round(value / 10 ** Math.floor(Math.log10(value) + 1e-9));
  return [1, 2, 5].includes(mantissa) && Math.abs(value - mantissa * 10 ** Math.floor(Math.log10(value) + 1e-9)) < 1e-6
    ? `${value}x` : '';
}

/** Crash points over time, one series per room (rebuilt when the set of rooms changes). */
function renderRoundsChart(rounds) {
  const rooms = [...new Set(rounds.map((round) => round.room))].sort();
  const key = rooms.join(',');
  if (session.roundsChartRooms !== key) {
    session.roundsChartRooms = key;
    session.charts.rounds.destroy();
    ui.roundsChart.replaceChildren();
    session.charts.rounds = createChart(ui.roundsChart, {
      height: 180,
      xTime: true,
      series: rooms.map((room, index) => ({
        label: room, color: ROOM_COLORS[index % ROOM_COLORS.length], format: (value) => formatMultiplier(value), spanGaps: true,
      })),
      yValues: logLabel,
      yLog: true,
    });
  }
  const ordered = [...rounds].sort((a, b) => Date.parse(a.crashed_at) - Date.parse(b.crashed_at));
  session.charts.rounds.update([
    ordered.map((round) => Date.parse(round.crashed_at) / 1000),
    ...rooms.map((room) => ordered.map((round) => (round.room === room ? Number(round.crash_point) : null))),
  ]);
}

function renderAudit(report, source) {
  if (!report) {
    ui.auditStatus.textContent = 'No audit has run yet.';
    ui.auditStatus.dataset.ok = '';
    return;
  }
  const breaches = Array.isArray(report.breaches) ? report.breaches : [];
  const breachCount = Array.isArray(report.breaches) ? breaches.length : Number(report.breaches || 0);
  ui.auditStatus.dataset.ok = String(Boolean(report.ok));
  ui.auditStatus.replaceChildren(
    badge(report.ok ? 'ledger balanced' : `${breachCount} breach${breachCount === 1 ? '' : 'es'}`, report.ok ? 'ok' : 'bad', 'audit-badge'),
    el('span', { class: 'muted', text: ` ${source} ${formatTime(report.checked_at)}${report.duration_ms !== undefined ? ` · ${report.duration_ms} ms` : ''}` }));
  ui.auditBreaches.replaceChildren(...breaches.map((breach) => el('li', {},
    el('span', { class: 'action-name', text: breach.check || 'breach' }), el('span', { text: breach.detail || JSON.stringify(breach) }))));
}

function renderLastAudit(answer) {
  if (ui.runAudit.disabled) return;
  renderAudit(answer ? answer.last : null, 'checked');
}

async function runAudit() {
  ui.runAudit.disabled = true;
  ui.auditStatus.textContent = 'Auditing the ledger…';
  ui.auditStatus.dataset.ok = '';
  try {
    const report = await adminApi('/audit', { timeoutMs: 120000 });
    renderAudit(report, 'ran at');
    message.show(report.ok ? 'the ledger audit passed' : 'the ledger audit found breaches', report.ok ? 'ok' : 'error');
  } catch (error) {
    ui.auditStatus.textContent = 'The audit failed to run.';
    message.error(error);
  } finally {
    ui.runAudit.disabled = false;
  }
  refresh('actions');
}

function renderActions(answer) {
  const actions = answer.actions || [];
  ui.actions.replaceChildren(...actions.map((action) => el('li', { dataset: { testid: 'action-row', action: action.action } },
    el('span', { class: 'muted', text: formatTime(action.at) }),
    el('span', { class: 'action-name', text: action.action }),
    el('span', { text: action.target || '' }),
    el('span', { class: 'muted', text: `${action.admin || ''}${action.node_id ? ` on ${action.node_id}` : ''}` }),
    action.details && Object.keys(action.details).length > 0
      ? el('span', { class: 'muted mono', text: JSON.stringify(action.details) }) : null)));
  if (actions.length === 0) ui.actions.append(el('li', { class: 'muted', text: 'No operator actions yet.' }));
}

async function broadcast(event) {
  event.preventDefault();
  const text = ui.broadcastMessage.value.trim();
  if (text.length < 1 || text.length > BROADCAST_LENGTH_MAX) {
    message.show(`a broadcast is 1 to ${BROADCAST_LENGTH_MAX} characters`);
    return;
  }
  try {
    await adminApi('/broadcast', { method: 'POST', body: { message: text } });
    ui.broadcastMessage.value = '';
    message.show('broadcast sent to every connected player', 'ok');
  } catch (error) {
    message.error(error);
  }
  refresh('actions');
}

// ---------------------------------------------------------------------------------------------------
// Catalog: providers, their games (switched on and off here), a provider's game list imported
// ---------------------------------------------------------------------------------------------------

/** The most games the table shows at once (the admin API pages beyond it). */
const CATALOG_GAMES_SHOWN_MAX = 500;

/** Providers come with each catalog poll; the games table follows them. */
function renderCatalog(answer) {
  const providers = answer.providers || [];
  ui.providers.replaceChildren(...providers.map((provider) => el('tr', { dataset: { testid: 'provider-row', provider: provider.id, active: String(provider.active) } },
    el('td', { class: 'mono', text: provider.id }),
    el('td', { text: provider.name }),
    el('td', { text: provider.protocol }),
    el('td', { text: (provider.currencies || []).join(', ') || '–' }),
    el('td', { class: 'num', text: String(provider.games ?? 0) }),
    el('td', { text: provider.has_secret ? 'secret set' : provider.has_public_key ? 'public key set' : '–' }),
    el('td', {}, activeToggle(provider.active, 'provider-active-toggle', () => setProviderActive(provider.id, !provider.active))))));
  fillProviderSelect(ui.catalogFilter, providers, { value: '', text: 'all' });
  fillProviderSelect(ui.importProvider, providers.filter((provider) => provider.protocol !== 'house'), null);
  loadCatalogGames();
}

/** Replaces a select's providers, keeping the chosen one when it is still there. */
function fillProviderSelect(select, providers, first) {
  const chosen = select.value;
  const options = providers.map((provider) => el('option', { value: provider.id, text: provider.id }));
  select.replaceChildren(...(first ? [el('option', first)] : []), ...options);
  if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
}

function activeToggle(active, testid, onClick) {
  return el('span', { class: 'row' },
    badge(active ? 'active' : 'disabled', active ? 'ok' : 'bad'),
    el('button', { type: 'button', class: `button-small ${active ? 'button-warn' : 'button-secondary'}`,
      text: active ? 'Disable' : 'Enable', dataset: { testid }, onclick: onClick }));
}

async function loadCatalogGames() {
  const generation = session.generation;
  const provider = ui.catalogFilter.value;
  const query = `?limit=${CATALOG_GAMES_SHOWN_MAX}${provider ? `&provider=${encodeURIComponent(provider)}` : ''}`;
  try {
    const answer = await adminApi(`/games${query}`);
    if (generation !== session.generation || provider !== ui.catalogFilter.value) return;
    renderCatalogGames(answer);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) message.error(error);
  }
}

function renderCatalogGames(answer) {
  const games = answer.games || [];
  ui.catalogCount.textContent = `${games.length} of ${answer.total ?? games.length} games`;
  ui.catalogGames.replaceChildren(...games.map((game) => el('tr', { dataset: { testid: 'catalog-game-row', provider: game.provider, code: game.code, active: String(game.active) } },
    el('td', { class: 'mono', text: game.provider }),
    el('td', { class: 'mono', text: game.code }),
    el('td', { text: game.name }),
    el('td', { text: game.category }),
    el('td', { class: 'num', text: `${(game.rtp_bps / 100).toFixed(2)} %` }),
    el('td', { class: 'num', text: formatMicros(game.bet_min_micros) }),
    el('td', { class: 'num', text: formatMicros(game.bet_max_micros) }),
    el('td', {}, activeToggle(game.active, 'game-active-toggle', () => setGameActive(game, !game.active))))));
  if (games.length === 0) ui.catalogGames.append(el('tr', {}, el('td', { colSpan: 8, class: 'muted', text: 'No games.' })));
}

async function setGameActive(game, active) {
  try {
    await adminApi(`/games/${encodeURIComponent(game.id)}`, { method: 'PATCH', body: { active } });
    message.show(`${game.provider}/${game.code} ${active ? 'enabled' : 'disabled'}`, 'ok');
  } catch (error) {
    message.error(error);
  }
  loadCatalogGames();
  refresh('actions');
}

async function setProviderActive(id, active) {
  try {
    await adminApi(`/providers/${encodeURIComponent(id)}`, { method: 'PATCH', body: { active } });
    message.show(`provider ${id} ${active ? 'enabled' : 'disabled'}`, 'ok');
  } catch (error) {
    message.error(error);
  }
  refresh('catalog');
  refresh('actions');
}

async function addProvider(event) {
  event.preventDefault();
  const form = ui.providerForm.elements;
  const protocol = form.protocol.value;
  const key = form.key.value.trim();
  const body = {
    id: form.id.value.trim(),
    name: form.name.value.trim(),
    protocol,
    currencies: form.currencies.value.split(',').map((code) => code.trim().toUpperCase()).filter(Boolean),
    launch_url: form.launch_url.value.trim(),
  };
  if (protocol === 'hub88') body.public_key = key;
  else body.secret = key;
  try {
    await adminApi('/providers', { method: 'POST', body });
    ui.providerForm.reset();
    message.show(`provider ${body.id} added`, 'ok');
  } catch (error) {
    message.error(error);
  }
  refresh('catalog');
  refresh('actions');
}

async function importGames(event) {
  event.preventDefault();
  const provider = ui.importProvider.value;
  let list;
  try {
    list = JSON.parse(ui.importJson.value);
  } catch (error) {
    message.show(`the game list is not JSON: ${error.message}`);
    return;
  }
  try {
    const answer = await adminApi(`/providers/${encodeURIComponent(provider)}/games/import`, { method: 'POST', body: list, timeoutMs: 60000 });
    message.show(`${provider}: ${answer.inserted} added, ${answer.updated} updated, ${answer.unchanged} unchanged`, 'ok');
    ui.importJson.value = '';
  } catch (error) {
    message.error(error);
  }
  refresh('catalog');
  refresh('actions');
}

// ---------------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------------

ui.loginForm.addEventListener('submit', login);
ui.logout.addEventListener('click', () => logout());
ui.runAudit.addEventListener('click', runAudit);
ui.broadcastForm.addEventListener('submit', broadcast);
ui.providerForm.addEventListener('submit', addProvider);
ui.importForm.addEventListener('submit', importGames);
ui.catalogFilter.addEventListener('change', loadCatalogGames);

if (sessionStorage.getItem(TOKEN_KEY)) start();

// ---------------------------------------------------------------------------------------------------
// Provider rounds left open: refund (every standing bet rolled back) or settle (the bets are lost)
// ---------------------------------------------------------------------------------------------------

function renderOpenRounds(answer) {
  const rounds = answer.rounds || [];
  const minutes = Math.round((answer.open_after_s || 0) / 60);
  ui.openRoundsNote.textContent = `Rounds with bets and no win or end for ${minutes} min or more; closing one goes through the provider wallet's rules.`;
  ui.openRounds.replaceChildren(...rounds.map((round) => el('tr', { dataset: { testid: 'open-round-row', round: round.round_id } },
    el('td', { class: 'mono', text: round.provider_id }),
    el('td', { class: 'mono', text: round.round_id }),
    el('td', { class: 'mono', text: round.player_id }),
    el('td', { class: 'mono', text: round.game_code }),
    el('td', { class: 'num', text: String(round.live_bets) }),
    el('td', { class: 'num', text: formatMicros(round.staked_micros) }),
    el('td', { class: 'num', text: formatMicros(round.won_micros) }),
    el('td', { text: new Date(round.last_call_at).toLocaleString() }),
    el('td', {},
      el('button', { type: 'button', class: 'button-small button-secondary', text: 'Refund', dataset: { testid: 'open-round-refund' },
        onclick: () => closeRound(round, 'refund') }),
      el('button', { type: 'button', class: 'button-small button-warn', text: 'Settle', dataset: { testid: 'open-round-settle' },
        onclick: () => closeRound(round, 'settle') })))));
  if (rounds.length === 0) ui.openRounds.append(el('tr', {}, el('td', { colSpan: 9, class: 'muted', text: 'None.' })));
}

async function closeRound(round, action) {
  try {
    await adminApi('/provider-rounds/close', {
      method: 'POST',
      body: { provider_id: round.provider_id, round_id: round.round_id, player_id: round.player_id, action },
    });
    message.show(`round ${round.round_id} of ${round.provider_id}: ${action === 'refund' ? 'refunded' : 'settled'}`, 'ok');
  } catch (error) {
    message.error(error);
  }
  refresh('open-rounds');
  refresh('actions');
}
