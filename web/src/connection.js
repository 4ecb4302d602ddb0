// What the connection banner says, derived from pusher-js's connection state
// and whether the client is long-polling. Pure, so the wording is tested.

/**
 * @typedef {{state:string, everConnected:boolean, polling:boolean, catchingUp?:boolean}} LinkState
 * @typedef {{visible:boolean, tone:'info'|'warn'|'error', text:string}} Banner
 */

/**
 * @param {LinkState} s
 * @returns {Banner}
 */
export function bannerFor(s) {
  if (s.state === 'connected') {
    if (s.catchingUp) return { visible: true, tone: 'info', text: 'Reconnected — catching up on missed messages…' };
    return { visible: false, tone: 'info', text: '' };
  }
  if (s.polling) {
    return {
      visible: true,
      tone: 'warn',
      text: 'Live updates unavailable — polling for new messages.',
    };
  }
  if (s.state === 'initialized' || (s.state === 'connecting' && !s.everConnected)) {
    return { visible: true, tone: 'info', text: 'Connecting…' };
  }
  if (s.state === 'connecting') {
    return { visible: true, tone: 'error', text: 'Connection lost — reconnecting…' };
  }
  if (s.state === 'unavailable' || s.state === 'failed') {
    return { visible: true, tone: 'error', text: 'Offline — trying to reconnect…' };
  }
  return { visible: true, tone: 'error', text: 'Disconnected.' };
}

/**
 * Whether a pusher-js state change means the client should long-poll: the
 * socket is unavailable (10 s of failed attempts) or WebSockets are not
 * usable at all.
 * @param {string} state
 */
export function shouldPoll(state) {
  return state === 'unavailable' || state === 'failed';
}

/**
 * Backoff for failed sync requests: 1 s, 2 s, 4 s … capped at 30 s.
 * @param {number} attempt 0-based
 */
export function retryDelay(attempt) {
  return Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
}
