-- Times are unix microseconds (BIGINT) in both dialects so that queries
-- are shared. Empty string means "none" for optional text links.

-- +goose Up
CREATE TABLE users (
    id        TEXT PRIMARY KEY,
    role      TEXT NOT NULL,
    name      TEXT NOT NULL DEFAULT '',
    last_seen BIGINT
);

CREATE TABLE threads (
    id            TEXT PRIMARY KEY,
    subject       TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    last_activity BIGINT NOT NULL,
    last_seq      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE participants (
    thread_id TEXT NOT NULL REFERENCES threads (id),
    user_id   TEXT NOT NULL REFERENCES users (id),
    read_seq  BIGINT NOT NULL DEFAULT 0,
    read_at   BIGINT NOT NULL DEFAULT 0,
    -- messages by others after read_seq, not deleted; kept by the writes
    -- that change it so that a send does not count the backlog
    unread    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX participants_user ON participants (user_id, thread_id);

CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    thread_id     TEXT NOT NULL REFERENCES threads (id),
    seq           BIGINT NOT NULL,
    sender_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    content       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    edited_at     BIGINT,
    deleted_at    BIGINT,
    n_attachments INTEGER NOT NULL DEFAULT 0,
    UNIQUE (thread_id, seq),
    UNIQUE (thread_id, sender_id, client_id)
);

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL,
    thread_id    TEXT NOT NULL DEFAULT '',
    message_id   TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_owner ON attachments (owner_id, status);
CREATE INDEX attachments_status ON attachments (status, created_at);

-- The change feed behind Sync. tx_order is 0 here: SQLite has one writer,
-- so ids commit in order.
CREATE TABLE changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_order   BIGINT NOT NULL DEFAULT 0,
    thread_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    message_id TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    seq        BIGINT NOT NULL DEFAULT 0,
    at         BIGINT NOT NULL
);
CREATE INDEX changes_thread ON changes (thread_id, tx_order, id);

-- The transactional outbox: one row per write, holding a JSON array of
-- events ({channels, event, data}); rows are deleted once published.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    events      TEXT NOT NULL,
    claimed_by  TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL,
    thread_id   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    due_at      BIGINT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    claimed_by  TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    UNIQUE (user_id, thread_id)
);
CREATE INDEX notifications_due ON notifications (failed, due_at);

-- Actions done by a service actor. Ids only, never content.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    thread_id  TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE notifications;
DROP TABLE outbox;
DROP TABLE changes;
DROP TABLE attachments;
DROP TABLE messages;
DROP TABLE participants;
DROP TABLE threads;
DROP TABLE users;
