-- index approvals_kind
CREATE INDEX approvals_kind ON approvals(kind, created_at);

-- index approvals_state
CREATE INDEX approvals_state ON approvals(state, expires_at);

-- index audit_object
CREATE INDEX audit_object ON audit_log(object_kind, object_id);

-- index audit_time
CREATE INDEX audit_time ON audit_log(time);

-- index chain_calls_by_subject
CREATE INDEX chain_calls_by_subject ON chain_calls(subject);

-- index chain_calls_by_time
CREATE INDEX chain_calls_by_time ON chain_calls(chain, time);

-- index chat_messages_chat
CREATE INDEX chat_messages_chat ON chat_messages(channel, chat_id, direction, received_at);

-- index chat_messages_outbox
CREATE INDEX chat_messages_outbox ON chat_messages(direction, status, channel, next_attempt_at);

-- index chat_messages_rfq
CREATE INDEX chat_messages_rfq ON chat_messages(rfq_id);

-- index documents_collection
CREATE INDEX documents_collection ON documents(collection, deleted_at);

-- index documents_hash
CREATE INDEX documents_hash ON documents(content_hash);

-- index draft_markups_by_draft
CREATE INDEX draft_markups_by_draft ON draft_markups(draft_id, received_at);

-- index extraction_exports_job
CREATE INDEX extraction_exports_job ON extraction_exports(job_id);

-- index extraction_exports_sha
CREATE INDEX extraction_exports_sha ON extraction_exports(file_sha256);

-- index extraction_files_approval
CREATE INDEX extraction_files_approval ON extraction_files(approval_id);

-- index extraction_files_sha
CREATE INDEX extraction_files_sha ON extraction_files(sha256);

-- index field_corrections_by_time
CREATE INDEX field_corrections_by_time ON field_corrections(chain, time);

-- index idempotency_keys_created
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- index jobs_created
CREATE INDEX jobs_created ON jobs(created_at);

-- index market_events_by_date
CREATE INDEX market_events_by_date ON market_events(date);

-- index market_events_one_move
CREATE UNIQUE INDEX market_events_one_move ON market_events(contract, date) WHERE kind = 'move';

-- index model_alerts_by_state
CREATE INDEX model_alerts_by_state ON model_alerts(state, chain);

-- index rfq_quotes_approval
CREATE INDEX rfq_quotes_approval ON rfq_quotes(approval_id);

-- index rfq_quotes_status
CREATE INDEX rfq_quotes_status ON rfq_quotes(status, underlying);

-- index rfqs_chat
CREATE INDEX rfqs_chat ON rfqs(channel, chat_id, received_at);

-- index rfqs_client
CREATE INDEX rfqs_client ON rfqs(client_id, received_at);

-- index rfqs_received
CREATE INDEX rfqs_received ON rfqs(received_at);

-- index rfqs_status
CREATE INDEX rfqs_status ON rfqs(status);

-- index sessions_user
CREATE INDEX sessions_user ON sessions(user_id);

-- index sign_in_attempts_address
CREATE INDEX sign_in_attempts_address ON sign_in_attempts(address, time);

-- index sign_in_attempts_name
CREATE INDEX sign_in_attempts_name ON sign_in_attempts(name, time);

-- index tokens_user
CREATE INDEX tokens_user ON tokens(user_id);

-- index validation_baselines_by_chain
CREATE INDEX validation_baselines_by_chain ON validation_baselines(chain, report_sha256);

-- table approval_versions
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

-- table approvals
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

-- table audit_log
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

-- table chain_calls
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
    , embedding BLOB);

-- table chain_modes
CREATE TABLE chain_modes (
        chain       TEXT PRIMARY KEY,
        mode        TEXT NOT NULL CHECK (mode IN ('model', 'fallback', 'paused')),
        reason      TEXT NOT NULL,
        changed_at  TEXT NOT NULL,
        changed_by  TEXT NOT NULL
    );

-- table chat_messages
CREATE TABLE "chat_messages" (
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
        error           TEXT, reply_url TEXT, reply_url_spent_at TEXT,
        UNIQUE (channel, chat_id, direction, event_key)
    );

-- table compliance_catalogues
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

-- table compliance_provisions
CREATE TABLE compliance_provisions (
        version TEXT NOT NULL REFERENCES compliance_catalogues(version),
        ord     INTEGER NOT NULL,
        id      TEXT NOT NULL,
        body    TEXT NOT NULL,
        PRIMARY KEY (version, id)
    );

-- table document_versions
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

-- table documents
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

-- table draft_finals
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

-- table draft_markups
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

-- table draft_signatures
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

-- table draft_versions
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

-- table drafts
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
    , approval_id TEXT REFERENCES approvals(id));

-- table extraction_exports
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

-- table extraction_files
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

-- table field_corrections
CREATE TABLE field_corrections (
        id       INTEGER PRIMARY KEY,
        chain    TEXT NOT NULL,
        subject  TEXT NOT NULL,
        field    TEXT NOT NULL,
        time     TEXT NOT NULL
    );

-- table idempotency_keys
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

-- table jobs
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

-- table market_bars
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

-- table market_events
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

-- table market_files
CREATE TABLE market_files (
        id           TEXT PRIMARY KEY,
        sha256       TEXT NOT NULL,
        name         TEXT NOT NULL,
        bars         INTEGER NOT NULL,
        notices      TEXT NOT NULL,
        uploaded_by  TEXT NOT NULL,
        uploaded_at  TEXT NOT NULL
    );

-- table model_alerts
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

-- table model_versions
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

-- table rfq_chats
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

-- table rfq_quotes
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

-- table rfqs
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
    , model_fields TEXT NOT NULL DEFAULT '[]');

-- table sessions
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

-- table sign_in_attempts
CREATE TABLE sign_in_attempts (
        id       INTEGER PRIMARY KEY,
        time     TEXT NOT NULL,
        name     TEXT NOT NULL,
        address  TEXT NOT NULL,
        success  INTEGER NOT NULL CHECK (success IN (0, 1))
    );

-- table template_versions
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

-- table templates
CREATE TABLE templates (
        id         TEXT PRIMARY KEY,
        version    INTEGER NOT NULL,
        title      TEXT NOT NULL,
        language   TEXT NOT NULL CHECK (language IN ('en', 'zh')),
        families   TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
    );

-- table tokens
CREATE TABLE tokens (
        id           TEXT PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id),
        hash         TEXT NOT NULL UNIQUE,
        label        TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT,
        revoked_at   TEXT
    );

-- table user_passwords
CREATE TABLE user_passwords (
        user_id     INTEGER PRIMARY KEY REFERENCES users(id),
        hash        TEXT NOT NULL,
        set_at      TEXT NOT NULL,
        set_by      TEXT NOT NULL
    );

-- table users
CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        disabled_at TEXT
    , language TEXT CHECK (language IN ('en', 'zh')));

-- table validation_baselines
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

-- trigger audit_log_no_delete
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- trigger audit_log_no_update
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- trigger chat_messages_status_insert
CREATE TRIGGER chat_messages_status_insert BEFORE INSERT ON chat_messages
        WHEN (NEW.direction = 'in' AND NEW.status NOT IN (
            'received', 'not_addressed', 'deleted', 'throttled', 'unknown_chat', 'sticker',
            'not_text', 'edited', 'help', 'too_long', 'flagged', 'not_rfq', 'clarify', 'rfq'))
          OR (NEW.direction = 'out' AND NEW.status NOT IN (
            'pending', 'sending', 'sent', 'failed', 'uncertain', 'cancelled', 'expired', 'local'))
        BEGIN SELECT RAISE(ABORT, 'invalid chat_messages.status: ' || quote(NEW.status)); END;

-- trigger chat_messages_status_update
CREATE TRIGGER chat_messages_status_update BEFORE UPDATE OF direction, status ON chat_messages
        WHEN (NEW.direction = 'in' AND NEW.status NOT IN (
            'received', 'not_addressed', 'deleted', 'throttled', 'unknown_chat', 'sticker',
            'not_text', 'edited', 'help', 'too_long', 'flagged', 'not_rfq', 'clarify', 'rfq'))
          OR (NEW.direction = 'out' AND NEW.status NOT IN (
            'pending', 'sending', 'sent', 'failed', 'uncertain', 'cancelled', 'expired', 'local'))
        BEGIN SELECT RAISE(ABORT, 'invalid chat_messages.status: ' || quote(NEW.status)); END;

-- trigger compliance_catalogues_no_update
CREATE TRIGGER compliance_catalogues_no_update BEFORE UPDATE ON compliance_catalogues
        BEGIN SELECT RAISE(ABORT, 'a catalogue version is never changed'); END;

-- trigger compliance_provisions_no_update
CREATE TRIGGER compliance_provisions_no_update BEFORE UPDATE ON compliance_provisions
        BEGIN SELECT RAISE(ABORT, 'a catalogue version is never changed'); END;

-- trigger draft_finals_executed_once
CREATE TRIGGER draft_finals_executed_once BEFORE UPDATE OF executed_on, conformed_pdf,
        conformed_sha256 ON draft_finals WHEN OLD.executed_on IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'an executed document is dated once'); END;

-- trigger draft_finals_no_update
CREATE TRIGGER draft_finals_no_update BEFORE UPDATE OF draft_id, version, approval_id,
        parties, pages, pdf, pdf_sha256, docx, docx_sha256, finalised_at, finalised_by
        ON draft_finals
        BEGIN SELECT RAISE(ABORT, 'a final document is never changed'); END;

-- trigger draft_markups_no_update
CREATE TRIGGER draft_markups_no_update BEFORE UPDATE ON draft_markups
        BEGIN SELECT RAISE(ABORT, 'a received mark-up is never changed'); END;

-- trigger draft_signatures_no_update
CREATE TRIGGER draft_signatures_no_update BEFORE UPDATE ON draft_signatures
        BEGIN SELECT RAISE(ABORT, 'a received signed copy is never changed'); END;

-- trigger draft_versions_no_update
CREATE TRIGGER draft_versions_no_update BEFORE UPDATE ON draft_versions
        BEGIN SELECT RAISE(ABORT, 'a saved draft version is never changed'); END;

-- trigger extraction_files_status_insert
CREATE TRIGGER extraction_files_status_insert BEFORE INSERT ON extraction_files
        WHEN NEW.status NOT IN (
            'extracted', 'needs_review', 'not_a_confirmation', 'unsupported', 'unreadable',
            'too_large', 'internal')
        BEGIN SELECT RAISE(ABORT, 'invalid extraction_files.status: ' || quote(NEW.status)); END;

-- trigger extraction_files_status_update
CREATE TRIGGER extraction_files_status_update BEFORE UPDATE OF status ON extraction_files
        WHEN NEW.status NOT IN (
            'extracted', 'needs_review', 'not_a_confirmation', 'unsupported', 'unreadable',
            'too_large', 'internal')
        BEGIN SELECT RAISE(ABORT, 'invalid extraction_files.status: ' || quote(NEW.status)); END;

-- trigger jobs_kind_insert
CREATE TRIGGER jobs_kind_insert BEFORE INSERT ON jobs
        WHEN NEW.kind NOT IN (
            'document.ingest', 'extraction', 'eval')
        BEGIN SELECT RAISE(ABORT, 'invalid jobs.kind: ' || quote(NEW.kind)); END;

-- trigger jobs_kind_update
CREATE TRIGGER jobs_kind_update BEFORE UPDATE OF kind ON jobs
        WHEN NEW.kind NOT IN (
            'document.ingest', 'extraction', 'eval')
        BEGIN SELECT RAISE(ABORT, 'invalid jobs.kind: ' || quote(NEW.kind)); END;

-- trigger market_bars_no_update
CREATE TRIGGER market_bars_no_update BEFORE UPDATE ON market_bars
    BEGIN
        SELECT RAISE(ABORT, 'a stored market bar is never changed');
    END;

-- trigger rfq_quotes_status_insert
CREATE TRIGGER rfq_quotes_status_insert BEFORE INSERT ON rfq_quotes
        WHEN NEW.status NOT IN (
            'pending', 'blocked', 'error', 'approved', 'sent', 'rejected', 'expired',
            'superseded', 'send_failed', 'uncertain')
        BEGIN SELECT RAISE(ABORT, 'invalid rfq_quotes.status: ' || quote(NEW.status)); END;

-- trigger rfq_quotes_status_update
CREATE TRIGGER rfq_quotes_status_update BEFORE UPDATE OF status ON rfq_quotes
        WHEN NEW.status NOT IN (
            'pending', 'blocked', 'error', 'approved', 'sent', 'rejected', 'expired',
            'superseded', 'send_failed', 'uncertain')
        BEGIN SELECT RAISE(ABORT, 'invalid rfq_quotes.status: ' || quote(NEW.status)); END;

-- trigger rfqs_status_insert
CREATE TRIGGER rfqs_status_insert BEFORE INSERT ON rfqs
        WHEN NEW.status NOT IN (
            'clarifying', 'answered', 'pricing', 'quoted', 'blocked', 'failed', 'flagged')
        BEGIN SELECT RAISE(ABORT, 'invalid rfqs.status: ' || quote(NEW.status)); END;

-- trigger rfqs_status_update
CREATE TRIGGER rfqs_status_update BEFORE UPDATE OF status ON rfqs
        WHEN NEW.status NOT IN (
            'clarifying', 'answered', 'pricing', 'quoted', 'blocked', 'failed', 'flagged')
        BEGIN SELECT RAISE(ABORT, 'invalid rfqs.status: ' || quote(NEW.status)); END;

-- trigger template_versions_no_update
CREATE TRIGGER template_versions_no_update BEFORE UPDATE ON template_versions
        BEGIN SELECT RAISE(ABORT, 'an imported template version is never changed'); END;
