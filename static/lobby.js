// The lobby of the player page and its router. The lobby lists the catalog (`GET /api/v1/games`) with
// category chips, a name search and a provider filter; a click on a game launches it
// (`POST /api/v1/games/{id}/launch`). House games then open their view in this page under the hash route
// `#/play/{code}?session={id}` (so back and forward work); outside games open the URL their provider
// gave in a new tab. The router shows one view at a time and tells the view modules (play.js, slots.js,
// dice.js, plinko.js, mines.js, verify.js, account.js) with a `gc:view` event on window: {view, code, session,
// game}. `#/account` is the player's account view (account.js).

import {
  api, ApiError, byTestId, el, formatBps, formatMicros, messageArea, show,
} from './common.js';

const TOKEN_KEY = 'gc.player.token';
/** Games asked for per page of the lobby (the catalog answers at most its own limit). */
const LOBBY_PAGE_SIZE = 40;
/** Games the lobby shows at most, however often "Show more" is clicked. */
const LOBBY_GAMES_MAX = 400;
/** Pages of house games read to find a game by its code (a deep link), LOBBY_PAGE_SIZE each. */
const HOUSE_PAGES_MAX = 5;
/** The pause after the last key typed in the search box before the catalog is asked. */
const SEARCH_DEBOUNCE_MS = 250;
const HOUSE_PROVIDER = 'house';
/** House games with a view of their own; the others are found by their category. */
const OWN_VIEWS = ['dice', 'plinko', 'mines'];
const CATEGORY_VIEWS = { crash: 'crash', slots: 'slots' };
/** Views that are no game: their title in the header. */
const VIEW_TITLES = { verify: 'Verify a bet', account: 'Your account' };

const LAUNCH_ERRORS = {
  insufficient_balance: (game) => `Your balance is below the minimum bet of ${game.name} (${formatMicros(game.bet_min_micros)}): top up to play.`,
  self_excluded: () => 'You have excluded yourself from play: games open again when the exclusion ends.',
  player_blocked: () => 'Your account is blocked: please contact support.',
  session_time_limit_reached: () => 'You have reached the session time limit you set: take a break and come back later.',
  game_disabled: (game) => `${game.name} is not available right now.`,
  unknown_game: (game) => `${game.name} is no longer in the catalog.`,
  currency_not_supported: (game) => `${game.name} does not accept your account's currency.`,
  launch_url_missing: (game) => `${game.name} cannot be opened yet: its provider has no launch address.`,
};

const ui = {
  gameSection: byTestId('game-section'),
  brandSub: byTestId('brand-sub'),
  logout: byTestId('logout'),
  nav: byTestId('view-nav'),
  viewTitle: byTestId('view-title'),
  views: [...document.querySelectorAll('[data-view]')],
  chips: byTestId('category-chips'),
  search: byTestId('lobby-search'),
  provider: byTestId('provider-filter'),
  count: byTestId('lobby-count'),
  cards: byTestId('game-cards'),
  more: byTestId('lobby-more'),
  external: byTestId('launched-external'),
  externalName: byTestId('launched-name'),
  externalLink: byTestId('launched-link'),
};
const message = messageArea(byTestId('message'));

const state = {
  filters: { category: '', provider: '', q: '' },
  games: [],
  total: 0,
  /** A newer catalog request makes the answers of older ones stale. */
  listSeq: 0,
  routeSeq: 0,
  searchTimer: null,
  /** House games seen in any catalog answer, by code: the router finds a game's view with them. */
  house: new Map(),
  /** The categories and providers the filter controls show (JSON), so they are redrawn only on a change. */
  facets: '',
};

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function loggedIn() {
  return Boolean(token()) && !ui.gameSection.classList.contains('hidden');
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    ui.logout.click();
    message.show(`please log in again: ${error.message}`, 'error');
    return;
  }
  message.error(error);
}

// ---------------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------------

function catalogQuery(offset) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(state.filters)) if (value) query.set(name, value);
  query.set('limit', String(LOBBY_PAGE_SIZE));
  query.set('offset', String(offset));
  return query;
}

function remember(games) {
  for (const game of games) if (game.provider === HOUSE_PROVIDER) state.house.set(game.code, game);
}

/** Loads the first page for the current filters (`more`: the next page, appended). */
async function loadCatalog({ more = false } = {}) {
  const seq = ++state.listSeq;
  const offset = more ? state.games.length : 0;
  const query = catalogQuery(offset);
  ui.cards.dataset.state = 'loading';
  try {
    const answer = await api(`/api/v1/games?${query}`);
    if (seq !== state.listSeq) return;
    const games = Array.isArray(answer.games) ? answer.games : [];
    remember(games);
    state.games = more ? state.games.concat(games) : games;
    state.total = Number(answer.total) || state.games.length;
    if (!more) renderFacets(answer);
    renderCards();
    ui.cards.dataset.state = 'ready';
    ui.cards.dataset.query = new URLSearchParams(Object.entries(state.filters).filter(([, value]) => value)).toString();
  } catch (error) {
    if (seq !== state.listSeq) return;
    ui.cards.dataset.state = 'error';
    ui.cards.replaceChildren(el('p', { class: 'muted', text: 'The game list cannot be loaded right now.' }));
    failed(error);
  }
}

/**
 * The category chips ("All" first) and the provider choices: every category and provider with a game in
 * the lobby, whatever the filters. Each first page brings them; they are redrawn when they changed.
 */
function renderFacets(answer) {
  const categories = (answer.categories || []).filter((category) => typeof category === 'string');
  const providers = (answer.providers || []).filter((provider) => provider && provider.id);
  const facets = JSON.stringify([categories, providers]);
  if (facets === state.facets) return;
  state.facets = facets;
  const chip = (category, text) => el('button', {
    type: 'button',
    class: 'chip chip-filter',
    role: 'tab',
    dataset: { testid: 'category-chip', category },
    'aria-selected': String(state.filters.category === category),
    text,
    onclick: () => setFilter('category', category),
  });
  ui.chips.replaceChildren(chip('', 'All'), ...categories.map((category) => chip(category, categoryName(category))));
  ui.provider.replaceChildren(el('option', { value: '', text: 'All providers' }),
    ...providers.map((provider) => el('option', { value: provider.id, text: provider.name || provider.id })));
  ui.provider.value = state.filters.provider;
}

function categoryName(category) {
  const text = String(category).replace(/[_-]+/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function setFilter(name, value) {
  if (state.filters[name] === value) return;
  state.filters[name] = value;
  for (const chip of ui.chips.querySelectorAll('[data-category]')) {
    chip.setAttribute('aria-selected', String(chip.dataset.category === state.filters.category));
  }
  loadCatalog();
}

function renderCards() {
  ui.cards.replaceChildren(...state.games.map(gameCard));
  if (state.games.length === 0) {
    ui.cards.append(el('p', { class: 'muted', dataset: { testid: 'lobby-empty' }, text: 'No game matches these filters.' }));
  }
  ui.count.textContent = `${state.games.length} of ${state.total} game${state.total === 1 ? '' : 's'}`;
  show(ui.more, state.games.length < state.total && state.games.length < LOBBY_GAMES_MAX);
}

function gameCard(game) {
  const facts = [
    el('span', { class: 'game-card-rtp', title: 'Declared return to player', text: `RTP ${formatBps(game.rtp_bps)}` }),
    el('span', { class: 'game-card-limits', text: `Bet ${formatMicros(game.bet_min_micros)} – ${formatMicros(game.bet_max_micros)}` }),
  ];
  if (game.volatility) facts.push(el('span', { text: `${String(game.volatility).replace('_', ' ')} volatility` }));
  return el('button', {
    type: 'button',
    class: `game-card game-card-${game.category}`,
    dataset: {
      testid: 'game-card', gameId: String(game.id), code: game.code, provider: game.provider, category: game.category,
    },
    onclick: () => openGame(game),
  },
  el('span', { class: 'game-card-category', text: categoryName(game.category) }),
  el('strong', { class: 'game-card-name', dataset: { testid: 'game-card-name' }, text: game.name }),
  el('span', { class: 'game-card-provider muted', text: game.provider_name || game.provider }),
  el('span', { class: 'game-card-facts' }, facts));
}

// ---------------------------------------------------------------------------------------------------
// Launching a game
// ---------------------------------------------------------------------------------------------------

async function launch(game) {
  return api(`/api/v1/games/${encodeURIComponent(game.id)}/launch`, { method: 'POST', token: token() });
}

function launchFailed(game, error) {
  const explain = error instanceof ApiError && LAUNCH_ERRORS[error.code];
  if (!explain) {
    failed(error);
    return;
  }
  message.show(`${explain(game)} (${error.code})`, 'error');
}

function playHash(code, session) {
  return `#/play/${encodeURIComponent(code)}?session=${encodeURIComponent(session)}`;
}

/** A click on a game card. */
async function openGame(game) {
  show(ui.external, false);
  let answer;
  try {
    answer = await launch(game);
  } catch (error) {
    launchFailed(game, error);
    return;
  }
  if (game.provider === HOUSE_PROVIDER) {
    location.hash = playHash(game.code, answer.session_id);
  } else {
    openExternal(game, answer.url);
  }
}

/**
 * An outside game runs on its provider's site: it opens in a new tab (a frame is not possible: the page
 * allows no other origin), and the lobby keeps a link to it in case the browser blocked the new tab.
 */
function openExternal(game, url) {
  let address;
  try {
    address = new URL(url);
  } catch {
    address = null;
  }
  if (!address || !['http:', 'https:'].includes(address.protocol)) {
    message.show(`${game.name} gave no address this page can open`, 'error');
    return;
  }
  ui.externalName.textContent = game.name;
  ui.externalLink.href = address.href;
  ui.external.dataset.gameId = String(game.id);
  show(ui.external, true);
  window.open(address.href, '_blank', 'noopener,noreferrer');
}

// ---------------------------------------------------------------------------------------------------
// The router
// ---------------------------------------------------------------------------------------------------

/** `#/`, `#/play/{code}?session=…`, `#/verify/{bet_id}` or `#/account`; anything else is the lobby. */
function parseRoute(hash) {
  const [path, query = ''] = String(hash || '').replace(/^#/, '').split('?');
  let parts;
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { name: 'lobby' };
  }
  const params = new URLSearchParams(query);
  if (parts[0] === 'play' && parts[1]) return { name: 'play', code: parts[1], session: params.get('session') };
  if (parts[0] === 'verify' && parts[1]) return { name: 'verify', betId: parts[1] };
  if (parts[0] === 'account') return { name: 'account' };
  return { name: 'lobby' };
}

function viewOf(game) {
  if (OWN_VIEWS.includes(game.code)) return game.code;
  return CATEGORY_VIEWS[game.category] || null;
}

/** The house game with this code, from the answers seen so far or from the catalog. */
async function houseGame(code) {
  for (let page = 0; !state.house.has(code) && page < HOUSE_PAGES_MAX; page += 1) {
    const query = new URLSearchParams({ provider: HOUSE_PROVIDER, limit: String(LOBBY_PAGE_SIZE), offset: String(page * LOBBY_PAGE_SIZE) });
    const answer = await api(`/api/v1/games?${query}`);
    const games = Array.isArray(answer.games) ? answer.games : [];
    remember(games);
    if (games.length < LOBBY_PAGE_SIZE) break;
  }
  return state.house.get(code) || null;
}

function showView(view, detail = {}) {
  for (const panel of ui.views) show(panel, panel.dataset.view === view);
  show(ui.nav, view !== 'lobby');
  const title = detail.game ? detail.game.name : (VIEW_TITLES[view] || 'lobby');
  ui.brandSub.textContent = title;
  ui.viewTitle.textContent = view === 'lobby' ? '' : title;
  ui.gameSection.dataset.currentView = view;
  window.dispatchEvent(new CustomEvent('gc:view', { detail: { view, ...detail } }));
}

function toLobby(text) {
  history.replaceState(null, '', '#/');
  showView('lobby');
  loadCatalog();
  if (text) message.show(text, 'error');
}

async function route() {
  if (!loggedIn()) return;
  const seq = ++state.routeSeq;
  const target = parseRoute(location.hash);
  if (target.name === 'verify') {
    showView('verify', { betId: target.betId });
    return;
  }
  if (target.name === 'account') {
    showView('account');
    return;
  }
  if (target.name === 'lobby') {
    showView('lobby');
    // Asked again on every visit: games the operators enabled or disabled meanwhile show as they are now.
    loadCatalog();
    return;
  }
  await openRoute(target, seq);
}

/** `#/play/{code}`: the game's view; a link without a session launches the game first. */
async function openRoute(target, seq) {
  let game;
  try {
    game = await houseGame(target.code);
  } catch (error) {
    if (seq === state.routeSeq) toLobby();
    failed(error);
    return;
  }
  if (seq !== state.routeSeq) return;
  const view = game && viewOf(game);
  if (!view) {
    toLobby(`there is no game "${target.code}" to play on this page`);
    return;
  }
  let session = target.session;
  if (!session) {
    try {
      session = (await launch(game)).session_id;
    } catch (error) {
      if (seq === state.routeSeq) toLobby();
      launchFailed(game, error);
      return;
    }
    if (seq !== state.routeSeq) return;
    history.replaceState(null, '', playHash(game.code, session));
  }
  showView(view, { code: game.code, session, game });
}

// ---------------------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------------------

ui.search.addEventListener('input', () => {
  clearTimeout(state.searchTimer);
  state.searchTimer = setTimeout(() => setFilter('q', ui.search.value.trim()), SEARCH_DEBOUNCE_MS);
});
ui.provider.addEventListener('change', () => setFilter('provider', ui.provider.value));
ui.more.addEventListener('click', () => loadCatalog({ more: true }));
window.addEventListener('hashchange', route);

// play.js shows the game section once the player is in and hides it at log-out; the next log-in starts
// from the lobby.
new MutationObserver(() => {
  if (ui.gameSection.classList.contains('hidden')) {
    history.replaceState(null, '', '#/');
    show(ui.external, false);
  } else {
    route();
  }
}).observe(ui.gameSection, { attributes: true, attributeFilter: ['class'] });

route();
