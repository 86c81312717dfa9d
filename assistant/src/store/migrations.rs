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
    // 2: the RFQ desk: chat → client mappings, every chat message in and out (the outbox is the
    // outbound rows), requests for quote and their quotes.
    r#"
    CREATE TABLE rfq_chats (
        id          TEXT PRIMARY KEY,
        channel     TEXT NOT NULL,
        chat_id     TEXT NOT NULL,
        client_id   TEXT NOT NULL,
        label       TEXT,
        created_at  TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        UNIQUE (channel, chat_id)
    );

    CREATE TABLE chat_messages (
        id              INTEGER PRIMARY KEY,
        channel         TEXT NOT NULL,
        chat_id         TEXT NOT NULL,
        direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        -- Inbound: the connector's event id; outbound: the dedupe key. Unique per channel and
        -- direction, so a redelivered event is archived once and a reply is queued once.
        event_key       TEXT NOT NULL,
        message_id      TEXT,
        reply_to        TEXT,
        sender          TEXT,
        kind            TEXT NOT NULL,
        text            TEXT NOT NULL,
        text_chars      INTEGER NOT NULL,
        addressed       INTEGER NOT NULL DEFAULT 0,
        time            TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        rfq_id          TEXT,
        quote_id        TEXT,
        -- Inbound: the disposition; outbound: pending, sending, sent, failed, uncertain,
        -- cancelled, expired, local.
        status          TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        not_after       TEXT,
        sent_at         TEXT,
        error           TEXT,
        UNIQUE (channel, direction, event_key)
    );
    CREATE INDEX chat_messages_chat ON chat_messages(channel, chat_id, direction, received_at);
    CREATE INDEX chat_messages_outbox ON chat_messages(direction, status, channel, next_attempt_at);
    CREATE INDEX chat_messages_rfq ON chat_messages(rfq_id);

    CREATE TABLE rfqs (
        id           TEXT PRIMARY KEY,
        channel      TEXT NOT NULL,
        chat_id      TEXT NOT NULL,
        message_id   TEXT NOT NULL,
        sender       TEXT NOT NULL,
        client_id    TEXT NOT NULL,
        received_at  TEXT NOT NULL,
        text         TEXT NOT NULL,
        language     TEXT NOT NULL,
        parse        TEXT NOT NULL,
        confidence   REAL NOT NULL,
        path         TEXT NOT NULL,
        problems     TEXT NOT NULL,
        status       TEXT NOT NULL,
        follow_up_of TEXT REFERENCES rfqs(id),
        error        TEXT,
        updated_at   TEXT NOT NULL
    );
    CREATE INDEX rfqs_received ON rfqs(received_at);
    CREATE INDEX rfqs_client ON rfqs(client_id, received_at);
    CREATE INDEX rfqs_status ON rfqs(status);
    CREATE INDEX rfqs_chat ON rfqs(channel, chat_id, received_at);

    CREATE TABLE rfq_quotes (
        id           TEXT PRIMARY KEY,
        rfq_id       TEXT NOT NULL REFERENCES rfqs(id),
        idx          INTEGER NOT NULL,
        underlying   TEXT,
        structure    TEXT,
        status       TEXT NOT NULL,
        approval_id  TEXT REFERENCES approvals(id),
        -- The desk's change of exposure if the client trades: cash delta, vega per vol point.
        desk_delta   REAL NOT NULL DEFAULT 0,
        desk_vega    REAL NOT NULL DEFAULT 0,
        detail       TEXT NOT NULL,
        valid_until  TEXT,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        sent_at      TEXT,
        UNIQUE (rfq_id, idx)
    );
    CREATE INDEX rfq_quotes_status ON rfq_quotes(status, underlying);
    CREATE INDEX rfq_quotes_approval ON rfq_quotes(approval_id);
    "#,
    // 3: upload-and-extract: one row per uploaded file of an extraction job (its result and
    // approval request), and the exports of approved results with the source file's SHA-256.
    r#"
    CREATE TABLE extraction_files (
        job_id       TEXT NOT NULL REFERENCES jobs(id),
        idx          INTEGER NOT NULL,
        name         TEXT NOT NULL,
        sha256       TEXT NOT NULL,
        bytes        INTEGER NOT NULL,
        status       TEXT NOT NULL,
        product_type TEXT,
        result       TEXT NOT NULL,
        approval_id  TEXT REFERENCES approvals(id),
        created_at   TEXT NOT NULL,
        PRIMARY KEY (job_id, idx)
    );
    CREATE INDEX extraction_files_sha ON extraction_files(sha256);
    CREATE INDEX extraction_files_approval ON extraction_files(approval_id);

    CREATE TABLE extraction_exports (
        approval_id  TEXT PRIMARY KEY REFERENCES approvals(id),
        job_id       TEXT,
        file_name    TEXT NOT NULL,
        file_sha256  TEXT NOT NULL,
        product_type TEXT,
        key_terms    TEXT NOT NULL,
        cdm          TEXT,
        extension    TEXT,
        version      INTEGER NOT NULL,
        approved_by  TEXT NOT NULL,
        approved_at  TEXT NOT NULL,
        exported_by  TEXT NOT NULL,
        exported_at  TEXT NOT NULL
    );
    CREATE INDEX extraction_exports_sha ON extraction_exports(file_sha256);
    CREATE INDEX extraction_exports_job ON extraction_exports(job_id);
    "#,
    // 4: the knowledge base's documents: the committed version of each, and every version
    // ingested. The indexes live in data_dir/knowledge; these tables mirror their manifest
    // (reconciled when the knowledge base opens) so that listings, permissions and the audit
    // log need no index.
    r#"
    CREATE TABLE documents (
        id             TEXT PRIMARY KEY,
        collection     TEXT NOT NULL,
        title          TEXT NOT NULL,
        source         TEXT NOT NULL,
        language       TEXT NOT NULL,
        classification TEXT NOT NULL,
        content_hash   TEXT NOT NULL,
        version        INTEGER NOT NULL,
        chunks         INTEGER NOT NULL,
        pages          INTEGER NOT NULL,
        format         TEXT NOT NULL,
        created_by     TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        updated_by     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        deleted_at     TEXT
    );
    CREATE INDEX documents_collection ON documents(collection, deleted_at);
    CREATE INDEX documents_hash ON documents(content_hash);

    CREATE TABLE document_versions (
        doc_id         TEXT NOT NULL REFERENCES documents(id),
        version        INTEGER NOT NULL,
        content_hash   TEXT NOT NULL,
        classification TEXT NOT NULL,
        chunks         INTEGER NOT NULL,
        ingested_by    TEXT NOT NULL,
        ingested_at    TEXT NOT NULL,
        PRIMARY KEY (doc_id, version)
    );
    "#,
    // 5: chat events are unique per chat, not per channel (a webhook client's event id may
    // collide with another client's room: both messages are kept); idempotency keys of API
    // requests that create something (`Idempotency-Key`), with the response to replay.
    r#"
    CREATE TABLE chat_messages_v5 (
        id              INTEGER PRIMARY KEY,
        channel         TEXT NOT NULL,
        chat_id         TEXT NOT NULL,
        direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        event_key       TEXT NOT NULL,
        message_id      TEXT,
        reply_to        TEXT,
        sender          TEXT,
        kind            TEXT NOT NULL,
        text            TEXT NOT NULL,
        text_chars      INTEGER NOT NULL,
        addressed       INTEGER NOT NULL DEFAULT 0,
        time            TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        rfq_id          TEXT,
        quote_id        TEXT,
        status          TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        not_after       TEXT,
        sent_at         TEXT,
        error           TEXT,
        UNIQUE (channel, chat_id, direction, event_key)
    );
    INSERT INTO chat_messages_v5 SELECT id, channel, chat_id, direction, event_key, message_id,
        reply_to, sender, kind, text, text_chars, addressed, time, received_at, rfq_id,
        quote_id, status, attempts, next_attempt_at, not_after, sent_at, error
        FROM chat_messages;
    DROP TABLE chat_messages;
    ALTER TABLE chat_messages_v5 RENAME TO chat_messages;
    CREATE INDEX chat_messages_chat ON chat_messages(channel, chat_id, direction, received_at);
    CREATE INDEX chat_messages_outbox ON chat_messages(direction, status, channel, next_attempt_at);
    CREATE INDEX chat_messages_rfq ON chat_messages(rfq_id);

    CREATE TABLE idempotency_keys (
        user           TEXT NOT NULL,
        key            TEXT NOT NULL,
        method         TEXT NOT NULL,
        path           TEXT NOT NULL,
        request_sha256 TEXT NOT NULL,
        state          TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
        status         INTEGER,
        content_type   TEXT,
        response       BLOB,
        created_at     TEXT NOT NULL,
        PRIMARY KEY (user, key)
    );
    CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
    "#,
    // 6: every status and kind column without a CHECK constraint refuses values outside its
    // enum (`desk::status`, `jobs::JobKind`, `extraction::FileStatus`), on insert and on update;
    // a test holds each list equal to the enum's `ALL`. Rows already stored are not checked
    // here: reading one that does not decode is an error.
    r#"
    CREATE TRIGGER rfqs_status_insert BEFORE INSERT ON rfqs
        WHEN NEW.status NOT IN (
            'clarifying', 'answered', 'pricing', 'quoted', 'blocked', 'failed', 'flagged')
        BEGIN SELECT RAISE(ABORT, 'invalid rfqs.status: ' || quote(NEW.status)); END;
    CREATE TRIGGER rfqs_status_update BEFORE UPDATE OF status ON rfqs
        WHEN NEW.status NOT IN (
            'clarifying', 'answered', 'pricing', 'quoted', 'blocked', 'failed', 'flagged')
        BEGIN SELECT RAISE(ABORT, 'invalid rfqs.status: ' || quote(NEW.status)); END;
    CREATE TRIGGER rfq_quotes_status_insert BEFORE INSERT ON rfq_quotes
        WHEN NEW.status NOT IN (
            'pending', 'blocked', 'error', 'approved', 'sent', 'rejected', 'expired',
            'superseded', 'send_failed', 'uncertain')
        BEGIN SELECT RAISE(ABORT, 'invalid rfq_quotes.status: ' || quote(NEW.status)); END;
    CREATE TRIGGER rfq_quotes_status_update BEFORE UPDATE OF status ON rfq_quotes
        WHEN NEW.status NOT IN (
            'pending', 'blocked', 'error', 'approved', 'sent', 'rejected', 'expired',
            'superseded', 'send_failed', 'uncertain')
        BEGIN SELECT RAISE(ABORT, 'invalid rfq_quotes.status: ' || quote(NEW.status)); END;
    CREATE TRIGGER chat_messages_status_insert BEFORE INSERT ON chat_messages
        WHEN (NEW.direction = 'in' AND NEW.status NOT IN (
            'received', 'not_addressed', 'deleted', 'throttled', 'unknown_chat', 'sticker',
            'not_text', 'edited', 'help', 'too_long', 'flagged', 'not_rfq', 'clarify', 'rfq'))
          OR (NEW.direction = 'out' AND NEW.status NOT IN (
            'pending', 'sending', 'sent', 'failed', 'uncertain', 'cancelled', 'expired', 'local'))
        BEGIN SELECT RAISE(ABORT, 'invalid chat_messages.status: ' || quote(NEW.status)); END;
    CREATE TRIGGER chat_messages_status_update BEFORE UPDATE OF direction, status ON chat_messages
        WHEN (NEW.direction = 'in' AND NEW.status NOT IN (
            'received', 'not_addressed', 'deleted', 'throttled', 'unknown_chat', 'sticker',
            'not_text', 'edited', 'help', 'too_long', 'flagged', 'not_rfq', 'clarify', 'rfq'))
          OR (NEW.direction = 'out' AND NEW.status NOT IN (
            'pending', 'sending', 'sent', 'failed', 'uncertain', 'cancelled', 'expired', 'local'))
        BEGIN SELECT RAISE(ABORT, 'invalid chat_messages.status: ' || quote(NEW.status)); END;
    CREATE TRIGGER extraction_files_status_insert BEFORE INSERT ON extraction_files
        WHEN NEW.status NOT IN (
            'extracted', 'needs_review', 'not_a_confirmation', 'unsupported', 'unreadable',
            'too_large', 'internal')
        BEGIN SELECT RAISE(ABORT, 'invalid extraction_files.status: ' || quote(NEW.status)); END;
    CREATE TRIGGER extraction_files_status_update BEFORE UPDATE OF status ON extraction_files
        WHEN NEW.status NOT IN (
            'extracted', 'needs_review', 'not_a_confirmation', 'unsupported', 'unreadable',
            'too_large', 'internal')
        BEGIN SELECT RAISE(ABORT, 'invalid extraction_files.status: ' || quote(NEW.status)); END;
    CREATE TRIGGER jobs_kind_insert BEFORE INSERT ON jobs
        WHEN NEW.kind NOT IN (
            'document.ingest', 'extraction', 'eval')
        BEGIN SELECT RAISE(ABORT, 'invalid jobs.kind: ' || quote(NEW.kind)); END;
    CREATE TRIGGER jobs_kind_update BEFORE UPDATE OF kind ON jobs
        WHEN NEW.kind NOT IN (
            'document.ingest', 'extraction', 'eval')
        BEGIN SELECT RAISE(ABORT, 'invalid jobs.kind: ' || quote(NEW.kind)); END;
    "#,
    // 7: the web application: a password per user (argon2id, PHC string), browser sessions
    // (only the SHA-256 of the cookie's secret is kept, with the form token that guards
    // state-changing requests), every sign-in attempt (for rate limits), and each user's
    // language.
    r#"
    CREATE TABLE user_passwords (
        user_id     INTEGER PRIMARY KEY REFERENCES users(id),
        hash        TEXT NOT NULL,
        set_at      TEXT NOT NULL,
        set_by      TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id           TEXT PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id),
        hash         TEXT NOT NULL UNIQUE,
        csrf         TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        revoked_at   TEXT,
        address      TEXT NOT NULL,
        user_agent   TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE sign_in_attempts (
        id       INTEGER PRIMARY KEY,
        time     TEXT NOT NULL,
        name     TEXT NOT NULL,
        address  TEXT NOT NULL,
        success  INTEGER NOT NULL CHECK (success IN (0, 1))
    );
    CREATE INDEX sign_in_attempts_name ON sign_in_attempts(name, time);
    CREATE INDEX sign_in_attempts_address ON sign_in_attempts(address, time);
    ALTER TABLE users ADD COLUMN language TEXT CHECK (language IN ('en', 'zh'));
    "#,
    // 8: which fields of an RFQ's parse the local model supplied (JSON: one list of field
    // names per request); requests parsed before it are rule parses or unrecorded.
    r#"
    ALTER TABLE rfqs ADD COLUMN model_fields TEXT NOT NULL DEFAULT '[]';
    "#,
    // 9: legal drafting: drafts of confirmations (the trade they confirm, the template and its
    // version) and every saved version of each (text, who, when, why); a version is never
    // changed, so any version can be re-created.
    r#"
    CREATE TABLE drafts (
        id               TEXT PRIMARY KEY,
        template         TEXT NOT NULL,
        template_version INTEGER NOT NULL,
        language         TEXT NOT NULL CHECK (language IN ('en', 'zh')),
        title            TEXT NOT NULL,
        trade            TEXT NOT NULL,
        source           TEXT NOT NULL,
        version          INTEGER NOT NULL,
        created_at       TEXT NOT NULL,
        created_by       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        updated_by       TEXT NOT NULL
    );
    CREATE TABLE draft_versions (
        draft_id   TEXT NOT NULL REFERENCES drafts(id),
        version    INTEGER NOT NULL,
        text       TEXT NOT NULL,
        structure  TEXT,
        sha256     TEXT NOT NULL,
        saved_at   TEXT NOT NULL,
        saved_by   TEXT NOT NULL,
        note       TEXT NOT NULL,
        PRIMARY KEY (draft_id, version)
    );
    CREATE TRIGGER draft_versions_no_update BEFORE UPDATE ON draft_versions
        BEGIN SELECT RAISE(ABORT, 'a saved draft version is never changed'); END;
    "#,
    // 10: legal approval and execution of drafts: the approval request of the version sent for
    // approval; the final documents of an approved version (PDF and DOCX bytes with their
    // SHA-256, never changed; the conformed copy, dated on the last signature, added once); the
    // signed copies received, one per party, matched to the final by content.
    r#"
    ALTER TABLE drafts ADD COLUMN approval_id TEXT REFERENCES approvals(id);
    CREATE TABLE draft_finals (
        draft_id         TEXT NOT NULL REFERENCES drafts(id),
        version          INTEGER NOT NULL,
        approval_id      TEXT NOT NULL REFERENCES approvals(id),
        parties          TEXT NOT NULL,
        pages            INTEGER NOT NULL,
        pdf              BLOB NOT NULL,
        pdf_sha256       TEXT NOT NULL,
        docx             BLOB NOT NULL,
        docx_sha256      TEXT NOT NULL,
        finalised_at     TEXT NOT NULL,
        finalised_by     TEXT NOT NULL,
        executed_on      TEXT,
        conformed_pdf    BLOB,
        conformed_sha256 TEXT,
        PRIMARY KEY (draft_id, version),
        FOREIGN KEY (draft_id, version) REFERENCES draft_versions(draft_id, version)
    );
    CREATE TRIGGER draft_finals_no_update BEFORE UPDATE OF draft_id, version, approval_id,
        parties, pages, pdf, pdf_sha256, docx, docx_sha256, finalised_at, finalised_by
        ON draft_finals
        BEGIN SELECT RAISE(ABORT, 'a final document is never changed'); END;
    CREATE TRIGGER draft_finals_executed_once BEFORE UPDATE OF executed_on, conformed_pdf,
        conformed_sha256 ON draft_finals WHEN OLD.executed_on IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'an executed document is dated once'); END;
    CREATE TABLE draft_signatures (
        draft_id    TEXT NOT NULL,
        version     INTEGER NOT NULL,
        party       TEXT NOT NULL CHECK (party IN ('party_a', 'party_b')),
        signed_on   TEXT NOT NULL,
        file_name   TEXT NOT NULL,
        file        BLOB NOT NULL,
        file_sha256 TEXT NOT NULL,
        similarity  REAL NOT NULL,
        ocr         INTEGER NOT NULL,
        uploaded_at TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        PRIMARY KEY (draft_id, version, party),
        FOREIGN KEY (draft_id, version) REFERENCES draft_finals(draft_id, version)
    );
    CREATE TRIGGER draft_signatures_no_update BEFORE UPDATE ON draft_signatures
        BEGIN SELECT RAISE(ABORT, 'a received signed copy is never changed'); END;
    "#,
    // 11: the clause library in the store: each template (id, product families, language) and
    // every imported version of it (its canonical Markdown with front matter, where it came
    // from, who imported it and why); a version is never changed, so a draft made on version N
    // is proofread and negotiated against version N.
    r#"
    CREATE TABLE templates (
        id         TEXT PRIMARY KEY,
        version    INTEGER NOT NULL,
        title      TEXT NOT NULL,
        language   TEXT NOT NULL CHECK (language IN ('en', 'zh')),
        families   TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
    );
    CREATE TABLE template_versions (
        template_id TEXT NOT NULL REFERENCES templates(id),
        version     INTEGER NOT NULL,
        source      TEXT NOT NULL,
        sha256      TEXT NOT NULL,
        origin      TEXT NOT NULL,
        note        TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        imported_by TEXT NOT NULL,
        PRIMARY KEY (template_id, version)
    );
    CREATE TRIGGER template_versions_no_update BEFORE UPDATE ON template_versions
        BEGIN SELECT RAISE(ABORT, 'an imported template version is never changed'); END;
    "#,
    // 12: counterparties' marked-up copies as received (the file itself), the version they were
    // compared with, the comparison and the issues list it gave; never changed.
    r#"
    CREATE TABLE draft_markups (
        id          TEXT PRIMARY KEY,
        draft_id    TEXT NOT NULL REFERENCES drafts(id),
        version     INTEGER NOT NULL,
        file_name   TEXT NOT NULL,
        file        BLOB NOT NULL,
        file_sha256 TEXT NOT NULL,
        ocr         INTEGER NOT NULL,
        result      TEXT NOT NULL,
        issues      TEXT NOT NULL,
        received_at TEXT NOT NULL,
        received_by TEXT NOT NULL,
        FOREIGN KEY (draft_id, version) REFERENCES draft_versions(draft_id, version)
    );
    CREATE INDEX draft_markups_by_draft ON draft_markups(draft_id, received_at);
    CREATE TRIGGER draft_markups_no_update BEFORE UPDATE ON draft_markups
        BEGIN SELECT RAISE(ABORT, 'a received mark-up is never changed'); END;
    "#,
    // 13: the trade-reporting rule catalogue: numbered versions (the DRR provisions and JR/T
    // 0294.3 elements as loaded, or the previous version with the firm's own provisions added),
    // each a full copy of its provisions; nothing in a version is ever changed.
    r#"
    CREATE TABLE compliance_catalogues (
        version         TEXT PRIMARY KEY,
        seq             INTEGER NOT NULL UNIQUE,
        parent          TEXT REFERENCES compliance_catalogues(version),
        origin          TEXT NOT NULL,
        note            TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        provisions      INTEGER NOT NULL,
        firm_provisions INTEGER NOT NULL,
        jrt             TEXT NOT NULL,
        loaded_at       TEXT NOT NULL,
        loaded_by       TEXT NOT NULL
    );
    CREATE TABLE compliance_provisions (
        version TEXT NOT NULL REFERENCES compliance_catalogues(version),
        ord     INTEGER NOT NULL,
        id      TEXT NOT NULL,
        body    TEXT NOT NULL,
        PRIMARY KEY (version, id)
    );
    CREATE TRIGGER compliance_catalogues_no_update BEFORE UPDATE ON compliance_catalogues
        BEGIN SELECT RAISE(ABORT, 'a catalogue version is never changed'); END;
    CREATE TRIGGER compliance_provisions_no_update BEFORE UPDATE ON compliance_provisions
        BEGIN SELECT RAISE(ABORT, 'a catalogue version is never changed'); END;
    "#,
    // 14: a reply URL the chat system gave with an inbound message (WeCom's one-use
    // `response_url`, valid for an hour) and when it was spent.
    r#"
    ALTER TABLE chat_messages ADD COLUMN reply_url TEXT;
    ALTER TABLE chat_messages ADD COLUMN reply_url_spent_at TEXT;
    "#,
    // 15: model risk: the inventory's versions of each model-backed chain (a version serves only
    // once a model-risk approval approved it), each chain's mode (the approved model, its rule
    // fallback, or paused for manual handling), one row per production call of a chain (what
    // monitoring and drift are computed from), and the alerts its thresholds raised.
    r#"
    CREATE TABLE model_versions (
        id              TEXT PRIMARY KEY,
        chain           TEXT NOT NULL,
        version         INTEGER NOT NULL,
        model           TEXT NOT NULL,
        weights_sha256  TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('proposed', 'approved', 'rejected', 'retired')),
        approval_id     TEXT,
        created_at      TEXT NOT NULL,
        created_by      TEXT NOT NULL,
        decided_at      TEXT,
        UNIQUE (chain, version)
    );
    CREATE TABLE chain_modes (
        chain       TEXT PRIMARY KEY,
        mode        TEXT NOT NULL CHECK (mode IN ('model', 'fallback', 'paused')),
        reason      TEXT NOT NULL,
        changed_at  TEXT NOT NULL,
        changed_by  TEXT NOT NULL
    );
    CREATE TABLE chain_calls (
        id              INTEGER PRIMARY KEY,
        chain           TEXT NOT NULL,
        time            TEXT NOT NULL,
        subject         TEXT,
        outcome         TEXT NOT NULL CHECK (outcome IN ('rules', 'model', 'model_rejected', 'error')),
        mode            TEXT NOT NULL CHECK (mode IN ('model', 'fallback', 'paused')),
        confidence      REAL,
        human_changed   INTEGER NOT NULL DEFAULT 0,
        latency_ms      REAL NOT NULL,
        input_chars     INTEGER NOT NULL,
        language        TEXT NOT NULL,
        product         TEXT
    );
    CREATE INDEX chain_calls_by_time ON chain_calls(chain, time);
    CREATE INDEX chain_calls_by_subject ON chain_calls(subject);
    CREATE TABLE model_alerts (
        id          TEXT PRIMARY KEY,
        chain       TEXT NOT NULL,
        metric      TEXT NOT NULL,
        window_secs INTEGER NOT NULL,
        value       REAL NOT NULL,
        threshold   REAL NOT NULL,
        action      TEXT NOT NULL CHECK (action IN ('alert', 'fallback', 'pause')),
        state       TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
        opened_at   TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        updated_by  TEXT,
        note        TEXT
    );
    CREATE INDEX model_alerts_by_state ON model_alerts(state, chain);
    "#,
    // 16: the key terms a person corrected in a review, one row per field (the monitoring's ops
    // correction rate per field); the input embedding of a call (the drift of its centroid).
    r#"
    CREATE TABLE field_corrections (
        id       INTEGER PRIMARY KEY,
        chain    TEXT NOT NULL,
        subject  TEXT NOT NULL,
        field    TEXT NOT NULL,
        time     TEXT NOT NULL
    );
    CREATE INDEX field_corrections_by_time ON field_corrections(chain, time);
    ALTER TABLE chain_calls ADD COLUMN embedding BLOB;
    "#,
    // 17: the cases of a chain's passed validation run as the monitoring reads production calls
    // (the drift figures' validation baseline), keyed by the report's SHA-256.
    r#"
    CREATE TABLE validation_baselines (
        id              INTEGER PRIMARY KEY,
        chain           TEXT NOT NULL,
        suite           TEXT NOT NULL,
        report_sha256   TEXT NOT NULL,
        recorded_at     TEXT NOT NULL,
        outcome         TEXT NOT NULL CHECK (outcome IN ('rules', 'model', 'model_rejected', 'error')),
        confidence      REAL,
        input_chars     INTEGER NOT NULL,
        language        TEXT NOT NULL,
        product         TEXT,
        embedding       BLOB
    );
    CREATE INDEX validation_baselines_by_chain ON validation_baselines(chain, report_sha256);
    "#,
    // 18: research and risk's market data: each imported file, the daily bars (one per contract
    // and day, never updated), and the events (moves found in the bars, risk events opened by
    // hand; a move once per contract and day).
    r#"
    CREATE TABLE market_files (
        id           TEXT PRIMARY KEY,
        sha256       TEXT NOT NULL,
        name         TEXT NOT NULL,
        bars         INTEGER NOT NULL,
        notices      TEXT NOT NULL,
        uploaded_by  TEXT NOT NULL,
        uploaded_at  TEXT NOT NULL
    );
    CREATE TABLE market_bars (
        contract       TEXT NOT NULL,
        date           TEXT NOT NULL,
        open           REAL CHECK (open > 0),
        high           REAL CHECK (high > 0),
        low            REAL CHECK (low > 0),
        close          REAL NOT NULL CHECK (close > 0),
        settlement     REAL CHECK (settlement > 0),
        volume         REAL CHECK (volume >= 0),
        open_interest  REAL CHECK (open_interest >= 0),
        unit           TEXT,
        file_id        TEXT NOT NULL REFERENCES market_files(id),
        PRIMARY KEY (contract, date)
    );
    CREATE TRIGGER market_bars_no_update BEFORE UPDATE ON market_bars
    BEGIN
        SELECT RAISE(ABORT, 'a stored market bar is never changed');
    END;
    CREATE TABLE market_events (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('move', 'risk')),
        contract    TEXT NOT NULL,
        date        TEXT NOT NULL,
        until       TEXT NOT NULL,
        topic       TEXT NOT NULL,
        details     TEXT NOT NULL,
        opened_by   TEXT NOT NULL,
        opened_at   TEXT NOT NULL
    );
    CREATE UNIQUE INDEX market_events_one_move ON market_events(contract, date) WHERE kind = 'move';
    CREATE INDEX market_events_by_date ON market_events(date);
    "#,
];
