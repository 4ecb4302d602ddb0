// What the connection banner says and when the client long-polls, derived
// from pusher-js's connection state, whether the client is polling and
// whether the server answered the last poll. Pure, so the rules are tested.

/**
 * @typedef {{state:string, everConnected:boolean, polling:boolean, reachable?:boolean|null, catchingUp?:boolean}} LinkState
 * @typedef {{visible:boolean, tone:'info'|'warn'|'error', text:string}} Banner
 */

/** A first connection normally takes well under a second; after this long without one, poll meanwhile. */
export const FIRST_CONNECT_GRACE_MS = 3000;
/** The socket is nudged to reconnect at most this often. */
export const KICK_MIN_INTERVAL_MS = 5000;

/**
 * @param {LinkState} s
 * @returns {Banner}
 */
export function bannerFor(s) {
  if (s.state === 'connected') {
    if (s.catchingUp) return { visible: true, tone: 'info', text: 'Reconnected — catching up on missed messages…' };
    return { visible: false, tone: 'info', text: '' };
  }
  if (s.polling && s.reachable === true) {
    return { visible: true, tone: 'warn', text: 'Live updates unavailable — polling for new messages.' };
  }
  if (s.everConnected) {
    return { visible: true, tone: 'error', text: 'Connection lost — reconnecting…' };
  }
  if ((s.state === 'initialized' || s.state === 'connecting') && s.reachable !== false) {
    return { visible: true, tone: 'info', text: 'Connecting…' };
  }
  return { visible: true, tone: 'error', text: 'Offline — trying to reconnect…' };
}

/**
 * How long after a pusher-js state change the client should start
 * long-polling the sync endpoint, or null to stop. A lost socket polls at
 * once: the poll fetches what is sent meanwhile and tells when the server
 * is back. A first connection gets a short grace period.
 * @param {string} state pusher-js connection state
 * @param {boolean} everConnected
 * @returns {number|null} milliseconds
 */
export function pollAfter(state, everConnected) {
  if (state === 'connected') return null;
  if (everConnected || state === 'unavailable' || state === 'failed') return 0;
  return FIRST_CONNECT_GRACE_MS;
}

/**
 * Whether to make pusher-js reconnect now: the server just answered a poll
 * (so it is up) while the socket is down. pusher-js on its own waits up to
 * 15 s between attempts after a failure. A first connection that is merely
 * slow is left alone unless a poll had failed: restarting it would only
 * delay it.
 * @param {{state:string, everConnected:boolean, wasReachable:boolean|null|undefined, now:number, lastKick:number}} s
 */
export function shouldKick(s) {
  if (s.state === 'connected' || s.now - s.lastKick < KICK_MIN_INTERVAL_MS) return false;
  return s.wasReachable === false || (s.everConnected && s.wasReachable !== true);
}

/**
 * Backoff for failed sync requests: 1 s, 2 s, 4 s … capped at 30 s.
 * @param {number} attempt 0-based
 */
export function retryDelay(attempt) {
  return Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
}
