// Where the page gets its bearer token, in order:
//   1. window.parleyGetToken: an async function the host application defines
//      (called before each request, so it may refresh the token);
//   2. window.PARLEY_TOKEN: a string the host application sets;
//   3. #token=<jwt> in the URL fragment (for `parley token` during
//      development; removed from the address bar at once);
//   4. a demo sign-in made in this tab (sessionStorage), only with --demo.

const STORAGE_KEY = 'parley.token';

/**
 * @param {any} win the window (injectable for tests)
 * @returns {{source:string, get:() => Promise<string>} | null}
 */
export function tokenSource(win) {
  if (typeof win.parleyGetToken === 'function') {
    return { source: 'host', get: async () => String(await win.parleyGetToken()) };
  }
  if (typeof win.PARLEY_TOKEN === 'string' && win.PARLEY_TOKEN) {
    const t = win.PARLEY_TOKEN;
    return { source: 'host', get: async () => t };
  }
  const fromHash = tokenFromFragment(win.location?.hash || '');
  if (fromHash) {
    try { win.sessionStorage?.setItem(STORAGE_KEY, fromHash); } catch { /* storage disabled */ }
    win.history?.replaceState?.(null, '', win.location.pathname + win.location.search);
    return { source: 'fragment', get: async () => fromHash };
  }
  let stored = null;
  try { stored = win.sessionStorage?.getItem(STORAGE_KEY); } catch { /* storage disabled */ }
  if (stored) return { source: 'session', get: async () => stored };
  return null;
}

/** @param {string} hash e.g. "#token=abc&x=1" */
export function tokenFromFragment(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const t = p.get('token');
  return t && /^[A-Za-z0-9_\-.]+$/.test(t) ? t : null;
}

/** @param {any} win @param {string} token */
export function rememberToken(win, token) {
  try { win.sessionStorage.setItem(STORAGE_KEY, token); } catch { /* storage disabled */ }
}

/** @param {any} win */
export function forgetToken(win) {
  try { win.sessionStorage.removeItem(STORAGE_KEY); } catch { /* storage disabled */ }
}
