// The pusher-js connection to Parley: how a web app should configure it.
// Everything Parley-specific is here; the rest of the client only sees
// callbacks.
import Pusher from 'pusher-js';

/**
 * @typedef {{appKey:string, wsHost?:string, wsPort?:number|string}} ServerConfig
 */

/**
 * Creates the Pusher client for a Parley server.
 * @param {ServerConfig} cfg from GET /api/v1/config
 * @param {string} base Parley's origin ('' = this page's)
 * @param {() => string} currentToken returns the latest bearer token (sync: pusher-js asks for headers synchronously)
 */
export function createPusher(cfg, base, currentToken) {
  const origin = new URL(base || window.location.href);
  const tls = origin.protocol === 'https:';
  const port = Number(cfg.wsPort || origin.port || (tls ? 443 : 80));
  const auth = () => ({ Authorization: `Bearer ${currentToken()}` });
  const api = base.replace(/\/$/, '');
  // localStorage['parley.debug'] = '1' turns on pusher-js's own log (frames
  // and connection strategy) for a support session.
  try {
    if (window.localStorage.getItem('parley.debug')) Pusher.logToConsole = true;
  } catch { /* storage disabled */ }
  return new Pusher(cfg.appKey, {
    // pusher-js 8 requires a cluster; wsHost overrides the host it implies.
    cluster: 'parley',
    wsHost: cfg.wsHost || origin.hostname,
    wsPort: port,
    wssPort: port,
    forceTLS: tls,
    // Parley speaks the WebSocket protocol only; the HTTP fallbacks of
    // pusher-js would load scripts from Pusher's CDN. Long-polling the sync
    // endpoint is this client's fallback instead. 'ws' follows forceTLS;
    // 'wss' would be pusher-js's "try TLS on the same port" fallback for a
    // plain-HTTP page, which only adds a doomed handshake per retry.
    enabledTransports: ['ws'],
    enableStats: false,
    channelAuthorization: {
      endpoint: `${api}/api/pusher/auth`,
      transport: 'ajax',
      headersProvider: auth,
    },
    userAuthentication: {
      endpoint: `${api}/api/pusher/user-auth`,
      transport: 'ajax',
      headersProvider: auth,
    },
  });
}

/** Channel names, as Parley authorizes them. */
export const channels = {
  /** @param {string} id */
  thread: (id) => `private-thread-${id}`,
  /** @param {string} id */
  user: (id) => `private-user-${id}`,
  /** @param {string} id */
  presence: (id) => `presence-user-${id}`,
};

/** Event names on those channels. */
export const events = {
  newMessage: 'new-message',
  messageUpdated: 'message-updated',
  messageDeleted: 'message-deleted',
  messageRead: 'message-read',
  typingStart: 'typing-start',
  typingStop: 'typing-stop',
  clientTypingStart: 'client-typing-start',
  clientTypingStop: 'client-typing-stop',
  // The messenger publishes inbox-update; inbox-message is the name first
  // agreed, bound too so either server version works.
  inboxUpdate: 'inbox-update',
  inboxMessage: 'inbox-message',
  threadCreated: 'thread-created',
};
