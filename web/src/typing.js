// Typing indicators over client events, as pure state machines with an
// injected clock so they can be tested without timers.

/** The sender never emits more than one typing-start per this interval. */
export const TYPING_THROTTLE_MS = 2000;
/** A received typing-start expires after this long without a refresh. */
export const TYPING_EXPIRY_MS = 5000;

/**
 * Decides when the local user's keystrokes turn into client-typing-start and
 * client-typing-stop events.
 */
export class TypingSender {
  /** @param {number} [throttleMs] */
  constructor(throttleMs = TYPING_THROTTLE_MS) {
    this.throttleMs = throttleMs;
    this.lastStart = -Infinity;
    this.typing = false;
  }

  /**
   * Called on every input event; returns 'start' when an event should be
   * sent now, or null.
   * @param {number} now ms
   * @param {boolean} empty whether the composer is now empty
   * @returns {'start'|'stop'|null}
   */
  input(now, empty) {
    if (empty) return this.stop();
    if (now - this.lastStart >= this.throttleMs) {
      this.lastStart = now;
      this.typing = true;
      return 'start';
    }
    return null;
  }

  /**
   * Called on send, blur or clearing the composer: 'stop' once per typing
   * burst, else null.
   * @returns {'stop'|null}
   */
  stop() {
    if (!this.typing) return null;
    this.typing = false;
    // The next keystroke after a stop announces itself at once.
    this.lastStart = -Infinity;
    return 'stop';
  }
}

/** Who is typing in one thread, as seen by the receiver. */
export class TypingTracker {
  /** @param {number} [expiryMs] */
  constructor(expiryMs = TYPING_EXPIRY_MS) {
    this.expiryMs = expiryMs;
    /** @type {Map<string, number>} userId -> expiry time */
    this.until = new Map();
  }

  /** @param {string} userId @param {number} now */
  start(userId, now) {
    if (userId) this.until.set(userId, now + this.expiryMs);
  }

  /** @param {string} userId */
  stop(userId) {
    this.until.delete(userId);
  }

  /**
   * The users typing at time now, dropping the expired ones.
   * @param {number} now
   * @returns {string[]}
   */
  active(now) {
    const out = [];
    for (const [user, t] of this.until) {
      if (t <= now) this.until.delete(user);
      else out.push(user);
    }
    return out.sort();
  }

  /** The next time something expires, or null; drives a single timer. */
  nextExpiry() {
    let min = null;
    for (const t of this.until.values()) if (min === null || t < min) min = t;
    return min;
  }
}

/**
 * "Ana is typing…", "Ana and Ben are typing…", "3 people are typing…".
 * @param {string[]} names
 */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
