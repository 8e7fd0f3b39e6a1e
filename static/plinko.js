// The Plinko view (`#/play/plinko`): the player picks a stake, the rows (8 to 16) and the risk, and drops
// a ball (`POST /api/v1/plinko/drop`). The board is drawn in SVG (attributes only: the page allows no
// inline styles); the ball follows the path the server sent, peg row by peg row, into its slot, which
// shows the multiplier paid. The path is written out too (L/R), with the bet's fairness facts.

import { byTestId, el, formatMicros } from './common.js';
import {
  failed, limitsText, message, onLogout, outcomeText, placeBet, renderFairness, stakeOf,
} from './originals.js';

const ROWS_MIN = 8;
const ROWS_MAX = 16;
const ROWS_DEFAULT = 8;
/** Drops of this visit listed under the board, newest first. */
const RECENT_DROPS_MAX = 10;
/** The time the ball takes from one row to the next. */
const STEP_MS = 90;
/** Board units between two pegs. */
const SPACING = 40;
const PEG_RADIUS = 4;
const BALL_RADIUS = 9;
const SVG = 'http://www.w3.org/2000/svg';

const ui = {
  info: byTestId('plinko-info'),
  status: byTestId('plinko-state'),
  board: byTestId('plinko-board'),
  outcome: byTestId('plinko-outcome'),
  path: byTestId('plinko-path'),
  recent: byTestId('plinko-recent'),
  form: byTestId('plinko-form'),
  amount: byTestId('plinko-amount'),
  rows: byTestId('plinko-rows'),
  risk: byTestId('plinko-risk'),
  button: byTestId('plinko-drop'),
  fairness: byTestId('plinko-fairness'),
};

const state = { busy: false, ball: null };

function svg(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** Board geometry for `rows`: row i has i + 3 pegs; the ball falls between them into rows + 1 slots. */
function geometry(rows) {
  const width = (rows + 2) * SPACING;
  const center = width / 2;
  return {
    width,
    height: (rows + 2) * SPACING,
    center,
    peg: (row, index) => ({ x: center + (index - (row + 2) / 2) * SPACING, y: (row + 1) * SPACING }),
    /** Where the ball is after `row` rows (row 0: before the first) with `rights` of them to the right. */
    ball: (row, rights) => ({ x: center + (rights - row / 2) * SPACING, y: row * SPACING + SPACING / 2 }),
    slotX: (slot) => center + (slot - rows / 2) * SPACING,
    slotY: (rows + 1) * SPACING - SPACING / 4,
  };
}

function drawBoard(rows) {
  const shape = geometry(rows);
  const drawing = svg('svg', { viewBox: `0 0 ${shape.width} ${shape.height}`, class: 'plinko-svg', role: 'img', 'aria-label': `Plinko board of ${rows} rows` });
  for (let row = 0; row < rows; row += 1) {
    for (let index = 0; index < row + 3; index += 1) {
      const { x, y } = shape.peg(row, index);
      drawing.append(svg('circle', { cx: x, cy: y, r: PEG_RADIUS, class: 'plinko-peg' }));
    }
  }
  for (let slot = 0; slot <= rows; slot += 1) {
    const group = svg('g', { class: 'plinko-slot', 'data-slot': slot });
    group.append(svg('rect', { x: shape.slotX(slot) - SPACING / 2 + 2, y: shape.slotY - 12, width: SPACING - 4, height: 24, rx: 4 }));
    drawing.append(group);
  }
  ui.board.replaceChildren(drawing);
  ui.board.dataset.rows = String(rows);
  return { drawing, shape };
}

function setStatus(name, text) {
  ui.status.dataset.state = name;
  ui.status.textContent = text;
}

const delay = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Moves a ball along `path` (1 = right) and marks the slot it lands in with its multiplier. */
async function animate(path, slot, multiplier) {
  const { drawing, shape } = drawBoard(path.length);
  const trail = svg('polyline', { class: 'plinko-trail', points: '' });
  const ball = svg('circle', { r: BALL_RADIUS, class: 'plinko-ball' });
  drawing.append(trail, ball);
  const points = [];
  let rights = 0;
  for (let row = 0; row <= path.length; row += 1) {
    if (row > 0) rights += path[row - 1] === 1 ? 1 : 0;
    const { x, y } = row === path.length ? { x: shape.slotX(rights), y: shape.slotY } : shape.ball(row, rights);
    points.push(`${x},${y}`);
    trail.setAttribute('points', points.join(' '));
    ball.setAttribute('cx', String(x));
    ball.setAttribute('cy', String(y));
    if (row < path.length) await delay(STEP_MS);
  }
  // The ball rests in its slot: the slot, lit, shows where, and its multiplier stays readable.
  ball.remove();
  const landed = drawing.querySelector(`[data-slot="${slot}"]`);
  if (landed) {
    landed.classList.add('plinko-slot-hit');
    const label = svg('text', { x: shape.slotX(slot), y: shape.slotY + 4, 'text-anchor': 'middle', class: 'plinko-slot-label' });
    label.textContent = `${multiplier}x`;
    landed.append(label);
  }
}

async function drop(submitEvent) {
  submitEvent.preventDefault();
  if (state.busy) return;
  let amount;
  try {
    amount = stakeOf(ui.amount);
  } catch (error) {
    message.show(error.message);
    return;
  }
  state.busy = true;
  ui.button.disabled = true;
  setStatus('busy', 'dropping…');
  try {
    const answer = await placeBet('/api/v1/plinko/drop', { amount, rows: Number(ui.rows.value), risk: ui.risk.value });
    await showDrop(answer.bet);
    setStatus('done', 'landed');
  } catch (error) {
    setStatus('idle', 'ready');
    failed(error);
  } finally {
    state.busy = false;
    ui.button.disabled = false;
  }
}

async function showDrop(bet) {
  const result = bet.result || {};
  const path = (result.path || []).map(Number);
  ui.board.dataset.betId = bet.id;
  ui.board.dataset.state = 'dropping';
  ui.path.textContent = `Path: ${path.map((step) => (step === 1 ? 'R' : 'L')).join(' ')}`;
  await animate(path, Number(result.slot), result.multiplier);
  Object.assign(ui.board.dataset, {
    state: 'landed', path: path.join(','), slot: String(result.slot), multiplier: String(result.multiplier), payout: String(bet.payout ?? 0),
  });
  ui.outcome.textContent = `Slot ${Number(result.slot) + 1} of ${path.length + 1} (${result.multiplier}x, ${result.risk} risk): ${outcomeText(bet)}`;
  const won = BigInt(bet.payout ?? 0) >= BigInt(bet.amount);
  ui.recent.prepend(el('li', { class: won ? 'positive' : 'negative', dataset: { testid: 'plinko-recent-drop' } },
    `${result.multiplier}x · ${formatMicros(bet.payout ?? 0)}`));
  while (ui.recent.children.length > RECENT_DROPS_MAX) ui.recent.lastChild.remove();
  renderFairness(ui.fairness, bet);
}

ui.rows.replaceChildren(...Array.from({ length: ROWS_MAX - ROWS_MIN + 1 }, (_, index) => {
  const rows = ROWS_MIN + index;
  return el('option', { value: String(rows), text: String(rows) });
}));
ui.rows.value = String(ROWS_DEFAULT);
ui.rows.addEventListener('change', () => {
  if (!state.busy) drawBoard(Number(ui.rows.value));
});
ui.form.addEventListener('submit', drop);
// The next player starts from an empty board.
onLogout(() => {
  for (const name of ['betId', 'path', 'slot', 'multiplier', 'payout']) delete ui.board.dataset[name];
  drawBoard(Number(ui.rows.value));
  ui.board.dataset.state = 'empty';
  ui.outcome.textContent = '';
  ui.path.textContent = '';
  ui.recent.replaceChildren();
  renderFairness(ui.fairness, null);
});
window.addEventListener('gc:view', (event) => {
  if (event.detail.view !== 'plinko') return;
  ui.info.textContent = limitsText(event.detail.game);
  if (!state.busy && ui.board.dataset.state !== 'landed') drawBoard(Number(ui.rows.value));
});
