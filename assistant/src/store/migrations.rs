//! Versioned schema migrations, applied in order at open. Never edit a shipped migration: add one.

/// The migrations; the schema version after applying migration `i` is `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: users, tokens, the audit log, approvals, jobs.
    r#"
    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        disabled_at TEXT
    );
    CREATE TABLE tokens (
        id           TEXT PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id),
        hash         TEXT NOT NULL UNIQUE,
        label        TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT,
        revoked_at   TEXT
    );
    CREATE INDEX tokens_user ON tokens(user_id);

    CREATE TABLE audit_log (
        seq            INTEGER PRIMARY KEY,
        time           TEXT NOT NULL,
        actor          TEXT NOT NULL,
        role           TEXT NOT NULL,
        action         TEXT NOT NULL,
        object_kind    TEXT NOT NULL,
        object_id      TEXT NOT NULL,
        classification TEXT NOT NULL,
        request_id     TEXT,
        details        TEXT NOT NULL,
        prev_hash      TEXT NOT NULL,
        hash           TEXT NOT NULL
    );
    CREATE INDEX audit_time ON audit_log(time);
    CREATE INDEX audit_object ON audit_log(object_kind, object_id);
    -- Append-only at the SQL level too; the hash chain catches whoever drops these triggers.
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

    CREATE TABLE approvals (
        id              TEXT PRIMARY KEY,
        kind            TEXT NOT NULL,
        title           TEXT NOT NULL,
        classification  TEXT NOT NULL,
        maker           TEXT NOT NULL,
        maker_role      TEXT NOT NULL,
        required_role   TEXT NOT NULL,
        four_eyes       INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN
                            ('pending','approved','rejected','expired','superseded')),
        reason          TEXT,
        decided_by      TEXT,
        decided_at      TEXT,
        created_at      TEXT NOT NULL,
        expires_at      TEXT NOT NULL,
        version         INTEGER NOT NULL,
        last_editor     TEXT,
        supersedes      TEXT REFERENCES approvals(id),
        superseded_by   TEXT REFERENCES approvals(id),
        idempotency_key TEXT,
        UNIQUE (maker, idempotency_key)
    );
    CREATE INDEX approvals_state ON approvals(state, expires_at);
    CREATE INDEX approvals_kind ON approvals(kind, created_at);
    CREATE TABLE approval_versions (
        approval_id TEXT NOT NULL REFERENCES approvals(id),
        version     INTEGER NOT NULL,
        payload     TEXT NOT NULL,
        author      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        diff        TEXT NOT NULL,
        note        TEXT,
        PRIMARY KEY (approval_id, version)
    );

    CREATE TABLE jobs (
        id             TEXT PRIMARY KEY,
        kind           TEXT NOT NULL,
        state          TEXT NOT NULL CHECK (state IN
                           ('queued','running','succeeded','failed','cancelled')),
        classification TEXT NOT NULL,
        created_by     TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        started_at     TEXT,
        finished_at    TEXT,
        progress       REAL NOT NULL DEFAULT 0,
        input          TEXT NOT NULL,
        result         TEXT,
        error          TEXT
    );
    CREATE INDEX jobs_created ON jobs(created_at);
    "#,
];
