// The REST client: every call carries the bearer token; errors become
// ApiError with the server's {"error":{"code","message"}}.

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  /**
   * @param {string} base origin of the Parley server, '' for same origin
   * @param {() => Promise<string>} getToken returns a current bearer token
   */
  constructor(base, getToken) {
    this.base = base.replace(/\/$/, '');
    this.getToken = getToken;
  }

  /** @param {string} path */
  url(path) {
    return this.base + path;
  }

  async authHeaders() {
    return { Authorization: `Bearer ${await this.getToken()}` };
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {any} [body] JSON body
   * @param {{signal?:AbortSignal}} [opts]
   */
  async request(method, path, body, opts = {}) {
    /** @type {Record<string,string>} */
    const headers = { ...(await this.authHeaders()), Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.url(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: opts.signal,
      cache: 'no-store',
    });
    if (!res.ok) throw await errorOf(res);
    if (res.status === 204) return null;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  me() { return this.request('GET', '/api/v1/me'); }
  config() { return this.request('GET', '/api/v1/config'); }
  threads() { return this.request('GET', '/api/v1/threads?limit=100'); }
  /** @param {string} id */
  thread(id) { return this.request('GET', `/api/v1/threads/${encodeURIComponent(id)}`); }

  /**
   * @param {string} id
   * @param {{before?:number, after?:number, limit?:number}} q
   */
  messages(id, q) {
    const p = new URLSearchParams();
    if (q.before) p.set('before', String(q.before));
    if (q.after !== undefined) p.set('after', String(q.after));
    p.set('limit', String(q.limit || 50));
    return this.request('GET', `/api/v1/threads/${encodeURIComponent(id)}/messages?${p}`);
  }

  /** @param {string} id @param {{clientId:string, content:string, attachments:string[]}} msg */
  send(id, msg) { return this.request('POST', `/api/v1/threads/${encodeURIComponent(id)}/messages`, msg); }
  /** @param {string} id @param {string} mid @param {string} content */
  edit(id, mid, content) {
    return this.request('PATCH', `/api/v1/threads/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}`, { content });
  }
  /** @param {string} id @param {string} mid */
  remove(id, mid) {
    return this.request('DELETE', `/api/v1/threads/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}`);
  }
  /** @param {string} id @param {number} seq */
  markRead(id, seq) { return this.request('POST', `/api/v1/threads/${encodeURIComponent(id)}/read`, { seq }); }

  /**
   * @param {string|null} since
   * @param {number} wait seconds to long-poll, 0 for none
   * @param {AbortSignal} [signal]
   * @param {number} [limit] changes per page (server default when absent)
   */
  sync(since, wait, signal, limit) {
    const p = new URLSearchParams();
    if (since) p.set('since', since);
    if (wait) p.set('wait', String(wait));
    if (limit) p.set('limit', String(limit));
    return this.request('GET', `/api/v1/sync?${p}`, undefined, { signal });
  }

  /**
   * Uploads a file with progress (fetch has no upload progress, XHR does).
   * @param {File} file
   * @param {(fraction:number) => void} onProgress
   * @returns {Promise<any>}
   */
  async upload(file, onProgress) {
    const headers = await this.authHeaders();
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.url('/api/v1/attachments'));
      xhr.setRequestHeader('Authorization', headers.Authorization);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'Upload failed: network error'));
      xhr.onload = () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(new ApiError(xhr.status, body?.error?.code || 'http', body?.error?.message || `Upload failed (HTTP ${xhr.status})`));
      };
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    });
  }

  /**
   * Fetches attachment bytes with the token (an <img src> cannot carry a
   * bearer header) and returns an object URL the caller must revoke.
   * @param {string} id
   * @param {number} [thumb] thumbnail width
   */
  async attachmentURL(id, thumb) {
    const q = thumb ? `?thumb=${thumb}` : '';
    const res = await fetch(this.url(`/api/v1/attachments/${encodeURIComponent(id)}${q}`), {
      headers: await this.authHeaders(),
    });
    if (!res.ok) throw await errorOf(res);
    return URL.createObjectURL(await res.blob());
  }
}

/** @param {Response} res */
async function errorOf(res) {
  let code = 'http';
  let message = `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch { /* not JSON */ }
  return new ApiError(res.status, code, message);
}
