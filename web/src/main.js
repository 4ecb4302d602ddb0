// Entry point: find a token (or offer the demo sign-in), then start the app.
import { Api, ApiError } from './api.js';
import { App } from './app.js';
import { tokenSource, rememberToken, forgetToken } from './token.js';
import { h, $ } from './view.js';

/** @type {any} */
const win = window;
const base = typeof win.PARLEY_BASE_URL === 'string' ? win.PARLEY_BASE_URL : '';

async function boot() {
  const src = tokenSource(win);
  if (!src) return showSignIn();
  let latest = '';
  const getToken = async () => (latest = await src.get());
  await getToken();
  const api = new Api(base, getToken);
  const app = new App(api, () => latest, base);
  win.parleyApp = app; // for debugging in the console
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = src.source === 'host';
  $('signout').addEventListener('click', () => {
    forgetToken(win);
    win.location.reload();
  });
  try {
    await app.start();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && src.source !== 'host') {
      forgetToken(win);
      return showSignIn('Your session has expired. Sign in again.');
    }
    fatal(`Could not start: ${/** @type {Error} */ (e).message}`);
  }
}

/** @param {string} [note] */
async function showSignIn(note) {
  $('app').hidden = true;
  const box = $('signin');
  box.hidden = false;
  const list = $('demo-users');
  const msg = $('signin-note');
  msg.textContent = note || '';
  let users = [];
  try {
    const res = await fetch(`${base}/api/v1/demo/users`, { headers: { Accept: 'application/json' } });
    if (res.ok) users = await res.json();
  } catch { /* no demo */ }
  if (!Array.isArray(users) || users.length === 0) {
    msg.textContent = (note ? note + ' ' : '') +
      'No token was provided. The host application sets window.PARLEY_TOKEN or window.parleyGetToken; during development open this page with #token=<JWT> from `parley token`, or start the server with `parley serve --demo`.';
    return;
  }
  list.replaceChildren(...users.map((/** @type {any} */ u) => h('li', {},
    h('button', {
      type: 'button',
      class: 'signin-user',
      'data-user-id': u.id,
      onclick: () => {
        rememberToken(win, u.token);
        win.location.reload();
      },
    }, h('span', { class: 'signin-name', text: u.name }), h('span', { class: `role role-${u.role}`, text: u.role })))));
  const first = list.querySelector('button');
  if (first instanceof HTMLElement) first.focus();
}

/** @param {string} text */
function fatal(text) {
  const el = $('banner');
  el.hidden = false;
  el.className = 'banner banner-error';
  el.textContent = text;
}

boot();
