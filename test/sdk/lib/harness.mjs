// Shared helpers for the SDK conformance tests. The Go test in
// test/conformance starts a fresh parley binary and passes its address and
// app credentials through the environment; every test here talks to that
// server only through the official SDKs: pusher-js 8 (client) and pusher 5
// (server). Waiting is always "await an event with a deadline", never a sleep.
import PusherClient from 'pusher-js'; // the Node build; it includes tweetnacl, i.e. encryption support
import PusherServer from 'pusher';
import { randomBytes } from 'node:crypto';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set; run these tests through go test ./test/conformance/...`);
  return v;
}

export const env = {
  host: process.env.PARLEY_WS_HOST || '127.0.0.1',
  get port() { return Number(need('PARLEY_WS_PORT')); },
  get appId() { return need('APP_ID'); },
  get key() { return need('KEY'); },
  get secret() { return need('SECRET'); },
  get disabledKey() { return process.env.DISABLED_KEY || 'disabled-key'; },
  get webhookPort() { return Number(need('WEBHOOK_PORT')); },
  get vacateDelayMs() { return Number(process.env.WEBHOOK_VACATE_DELAY_MS || '3000'); },
};

// How long any single awaited event may take. Generous: CI machines are slow,
// and a passing run never waits this long.
export const TIMEOUT = Number(process.env.SDK_EVENT_TIMEOUT_MS || '10000');

export function uid(prefix = '') {
  return prefix + randomBytes(6).toString('hex');
}

// server returns a pusher (Node server SDK) instance pointed at Parley.
export function server(extra = {}) {
  return new PusherServer({
    appId: env.appId,
    key: env.key,
    secret: env.secret,
    host: env.host,
    port: String(env.port),
    useTLS: false,
    ...extra,
  });
}

// client returns a pusher-js client for Parley whose channel authorizer and
// user authenticator sign with the pusher server SDK (as an app's
// /pusher/auth and /pusher/user-auth endpoints would).
//
// opts.member: presence channel_data ({user_id, user_info}); omit to
//   authorize presence channels without channel_data (signed-in user).
// opts.user: user_data for signin ({id, user_info, watchlist}).
// opts.signer: the server SDK used for signatures (default: server()).
// opts.forge: sign channel authorizations with a wrong secret.
export function client(opts = {}) {
  const name = opts.name || uid('client-');
  const signer = opts.signer || server();
  const forger = new PusherServer({ appId: env.appId, key: env.key, secret: 'not-the-secret', host: env.host, port: String(env.port), useTLS: false });
  const frames = [];
  const p = new PusherClient(opts.key || env.key, {
    cluster: 'x',
    wsHost: env.host,
    wsPort: env.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => {
        try {
          const s = opts.forge ? forger : signer;
          const isPresence = channelName.startsWith('presence-');
          const auth = isPresence && opts.member
            ? s.authorizeChannel(socketId, channelName, opts.member)
            : s.authorizeChannel(socketId, channelName);
          cb(null, auth);
        } catch (e) {
          cb(e, null);
        }
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, cb) => {
        try {
          if (!opts.user) throw new Error('this client has no user to sign in');
          cb(null, signer.authenticateUser(socketId, opts.user));
        } catch (e) {
          cb(e, null);
        }
      },
    },
    ...(opts.pusherOptions || {}),
  });
  // Frame log for failure messages: what this client sent and received.
  const send = p.send_event.bind(p);
  p.send_event = (event, data, channel) => {
    frames.push(`C→S ${JSON.stringify({ event, data, channel })}`);
    return send(event, data, channel);
  };
  p.connection.bind('message', (m) => frames.push(`S→C ${JSON.stringify(m)}`));
  p.connection.bind('state_change', (s) => frames.push(`state ${s.previous} → ${s.current}`));
  p.connection.bind('error', (e) => frames.push(`error ${JSON.stringify(e)}`));
  p.__name = name;
  p.__user = opts.user;
  p.__frames = frames;
  return p;
}

// track disconnects every client created in a test when the test ends.
export function track(t, ...clients) {
  t.after(() => {
    for (const c of clients) {
      try { c.disconnect(); } catch { /* already gone */ }
    }
  });
  return clients.length === 1 ? clients[0] : clients;
}

export function describeFrames(...clients) {
  return clients
    .filter(Boolean)
    .map((c) => `--- frames of ${c.__name} (socket ${c.connection.socket_id}):\n  ` + c.__frames.slice(-30).join('\n  '))
    .join('\n');
}

// within rejects with msg (and the clients' recent frames) unless promise
// settles within ms.
export function within(promise, what, clients = [], ms = TIMEOUT) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${describeFrames(...clients)}`)), ms);
  });
  const raced = Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  // Tests often start waiting before they act; if the test fails earlier
  // and never awaits this, its timeout must not become an unhandled rejection.
  raced.catch(() => {});
  return raced;
}

// next resolves with the data of the next `event` on an emitter (channel,
// pusher.user, pusher.user.watchlist, pusher.connection).
export function next(emitter, event, client, what) {
  return nextWithMeta(emitter, event, client, what).then((x) => x.data);
}

// nextWithMeta resolves with {data, meta}; meta carries user_id for client
// events on presence channels.
export function nextWithMeta(emitter, event, client, what) {
  return within(new Promise((resolve) => {
    const h = (data, meta) => {
      emitter.unbind(event, h);
      resolve({ data, meta });
    };
    emitter.bind(event, h);
  }), what || `event ${event}`, client ? [client] : []);
}

// nextMatching resolves with the first `event` whose data satisfies pred.
export function nextMatching(emitter, event, pred, client, what) {
  return within(new Promise((resolve) => {
    const h = (data, meta) => {
      if (!pred(data, meta)) return;
      emitter.unbind(event, h);
      resolve(data);
    };
    emitter.bind(event, h);
  }), what || `event ${event} matching ${pred}`, client ? [client] : []);
}

// record collects every `event` on an emitter.
export function record(emitter, event) {
  const got = [];
  emitter.bind(event, (data) => got.push(data));
  return got;
}

export function connected(p) {
  if (p.connection.state === 'connected') return Promise.resolve(p.connection.socket_id);
  return within(new Promise((resolve, reject) => {
    const h = (s) => {
      if (s.current === 'connected') {
        p.connection.unbind('state_change', h);
        resolve(p.connection.socket_id);
      } else if (s.current === 'failed' || s.current === 'disconnected') {
        p.connection.unbind('state_change', h);
        reject(new Error(`connection went to ${s.current}\n${describeFrames(p)}`));
      }
    };
    p.connection.bind('state_change', h);
  }), 'state connected', [p]);
}

// subscribe subscribes and resolves with the channel once the server
// answered with subscription_succeeded; rejects on subscription_error.
export function subscribe(p, name) {
  const ch = p.subscribe(name);
  return within(new Promise((resolve, reject) => {
    ch.bind('pusher:subscription_succeeded', () => resolve(ch));
    ch.bind('pusher:subscription_error', (e) => reject(new Error(`subscription to ${name} failed: ${JSON.stringify(e)}\n${describeFrames(p)}`)));
  }), `subscription_succeeded on ${name}`, [p]);
}

// subscriptionError resolves with the error data of a refused subscription.
export function subscriptionError(p, name) {
  const ch = p.subscribe(name);
  return within(new Promise((resolve, reject) => {
    ch.bind('pusher:subscription_succeeded', () => reject(new Error(`subscription to ${name} succeeded but should have been refused\n${describeFrames(p)}`)));
    ch.bind('pusher:subscription_error', (e) => resolve(e));
  }), `subscription_error on ${name}`, [p]);
}

// errorCode extracts the Pusher error code from a connection 'error' event:
// a pusher:error frame gives {type:'PusherError', data:{code}}, a close
// frame gives {type:'WebSocketError', error:{type:'PusherError', data:{code}}}.
export function errorCode(e) {
  if (!e) return undefined;
  if (e.data && e.data.code !== undefined) return e.data.code;
  if (e.error && e.error.data && e.error.data.code !== undefined) return e.error.data.code;
  return undefined;
}

// nextError resolves with the next connection error carrying `code`.
export function nextError(p, code) {
  return nextMatching(p.connection, 'error', (e) => errorCode(e) === code, p, `connection error ${code}`);
}

// signedIn signs the client in and waits for pusher:signin_success to reach
// pusher-js (the user object then carries user_data).
export function signedIn(p) {
  return within(new Promise((resolve) => {
    const h = (m) => {
      if (m.event === 'pusher:signin_success') {
        p.connection.unbind('message', h);
        resolve();
      }
    };
    p.connection.bind('message', h);
    p.signin();
  }), 'pusher:signin_success', [p]);
}

// json reads a Response from the server SDK as JSON, asserting 200.
export async function json(resPromise) {
  const res = await resPromise;
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text}`);
  return JSON.parse(text);
}

// httpStatus resolves with the status of a server SDK call that may fail:
// the SDK rejects non-2xx answers with a RequestError carrying status/body.
export async function httpStatus(promise) {
  try {
    const res = await promise;
    return { status: res.status, body: await res.text() };
  } catch (e) {
    if (e && e.status) return { status: e.status, body: e.body };
    throw e;
  }
}

// eventually polls check (an async predicate) until it returns true, with a
// deadline. For state that only the HTTP API shows (no event to await).
export async function eventually(check, what, ms = TIMEOUT) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
