//! The route table: every route with its method, path, declared access and a one-line summary.
//!
//! [`crate::app`] builds the router from this table only, so a route cannot exist without a
//! declared access; tests enumerate the table to check every role against every route.

pub use crate::access::{Access, RouteInfo, Surface, Timeout};
use crate::handlers::compliance as reporting;
use crate::handlers::{
    admin, approvals, audit, documents, drafts, evals, extractions, jobs, market, model_risk,
    openai, pricing, rfqs, system, templates, wecom,
};
use crate::state::AppState;
use crate::ui;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use policies::Permission;

/// One route.
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path template (`/v1/approvals/{id}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does, for `GET /v1/routes` and the docs.
    pub summary: &'static str,
    /// The limit on its time.
    pub timeout: Timeout,
    /// Whether the body is an upload, bounded by `server.max_upload_bytes` instead of
    /// `server.max_body_bytes`.
    pub upload: bool,
    /// API or page.
    pub surface: Surface,
    pub(crate) handler: MethodRouter<AppState>,
}

impl Route {
    /// The route without its handler, as `GET /v1/routes` shows it.
    pub fn info(&self) -> RouteInfo {
        RouteInfo {
            method: self.method.clone(),
            path: self.path,
            access: self.access,
            summary: self.summary,
            timeout: self.timeout,
            upload: self.upload,
            surface: self.surface,
            creates: self.creates(),
        }
    }

    /// Whether the route creates something, and so honours `Idempotency-Key`
    /// ([`crate::idempotency`]): every POST but the ones that only compute an answer.
    pub fn creates(&self) -> bool {
        self.method == Method::POST
            && self.surface == Surface::Api
            && !matches!(
                self.path,
                "/v1/chat/completions"
                    | "/v1/completions"
                    | "/tokenize"
                    | "/detokenize"
                    | "/v1/embeddings"
                    | "/v1/search"
                    | "/v1/ask"
                    | "/v1/wecom/callback"
            )
    }
}

macro_rules! route {
    ($method:ident $path:literal, $access:expr, $summary:literal, $handler:expr) => {
        route!(@ $method $path, $access, $summary, $handler, Timeout::Server, false, Surface::Api)
    };
    ($method:ident $path:literal, $access:expr, $summary:literal, $handler:expr, timeout = $timeout:expr) => {
        route!(@ $method $path, $access, $summary, $handler, $timeout, false, Surface::Api)
    };
    (upload $method:ident $path:literal, $access:expr, $summary:literal, $handler:expr) => {
        route!(@ $method $path, $access, $summary, $handler, Timeout::Server, true, Surface::Api)
    };
    (page $method:ident $path:literal, $access:expr, $summary:literal, $handler:expr) => {
        route!(@ $method $path, $access, $summary, $handler, Timeout::Server, false, Surface::Page)
    };
    (page $method:ident $path:literal, $access:expr, $summary:literal, $handler:expr, timeout = $timeout:expr) => {
        route!(@ $method $path, $access, $summary, $handler, $timeout, false, Surface::Page)
    };
    (page upload $method:ident $path:literal, $access:expr, $summary:literal, $handler:expr) => {
        route!(@ $method $path, $access, $summary, $handler, Timeout::Server, true, Surface::Page)
    };
    (@ $method:ident $path:literal, $access:expr, $summary:literal, $handler:expr, $timeout:expr, $upload:expr, $surface:expr) => {
        Route {
            method: Method::$method,
            path: $path,
            access: $access,
            summary: $summary,
            timeout: $timeout,
            upload: $upload,
            surface: $surface,
            handler: on(MethodFilter::$method, $handler),
        }
    };
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    use Access::{Authenticated, Permission as P, Public, Signed};
    use Permission::*;
    vec![
        route!(GET "/healthz", Public, "Liveness: the process answers.", system::healthz),
        route!(GET "/readyz", Public, "Readiness: the database answers and the audit anchor is readable.", system::readyz),
        route!(GET "/metrics", Public, "Prometheus metrics: requests, latencies, refusals, the process and build, model calls, tokens, time to first token, queue depth and chain fallbacks.", system::metrics),
        route!(GET "/v1/me", Authenticated, "The caller's user, role, permissions and clearance.", system::me),
        route!(GET "/v1/routes", Authenticated, "This route table, with the access each route needs.", system::list_routes),
        route!(GET "/openapi.json", Authenticated, "The OpenAPI 3.1 description of the API routes, generated from this table and the handlers' types.", system::openapi),
        route!(GET "/v1/config", P(Admin), "The effective configuration, secrets masked.", system::config),
        route!(GET "/v1/users", P(Admin), "List users.", admin::list_users),
        route!(POST "/v1/users", P(Admin), "Create a user with a role.", admin::create_user),
        route!(POST "/v1/users/{name}/tokens", P(Admin), "Issue an API token (shown once).", admin::issue_token),
        route!(DELETE "/v1/tokens/{id}", P(Admin), "Revoke an API token.", admin::revoke_token),
        route!(GET "/v1/audit", P(AuditRead), "Read audit entries by sequence or time range.", audit::list),
        route!(GET "/v1/audit/verify", P(Admin), "Verify the audit chain and its anchor.", audit::verify),
        route!(GET "/v1/approvals", P(ApprovalsRead), "List approval requests (filters: state, kind, required_role, maker, limit).", approvals::list),
        route!(POST "/v1/approvals", P(ApprovalsCreate), "Create an approval request.", approvals::create),
        route!(GET "/v1/approvals/{id}", P(ApprovalsRead), "One approval request with every payload version.", approvals::get),
        route!(POST "/v1/approvals/{id}/approve", P(ApprovalsDecide), "Approve (idempotent; `version`: the payload version reviewed, 409 when it has moved on).", approvals::approve),
        route!(POST "/v1/approvals/{id}/reject", P(ApprovalsDecide), "Reject with a reason (idempotent).", approvals::reject),
        route!(POST "/v1/approvals/{id}/edit", P(ApprovalsDecide), "Edit the payload before approval; both versions and the diff are kept (`version`: the one edited from, 409 when another edit landed).", approvals::edit),
        route!(upload POST "/v1/documents", P(DocumentsWrite), "Upload documents (multipart `file`, `collection`, `classification`) for ingestion; returns a job.", documents::upload),
        route!(GET "/v1/documents", P(DocumentsRead), "The documents of the knowledge base the caller may read.", documents::list),
        route!(DELETE "/v1/documents/{id}", P(DocumentsWrite), "Delete a document from both indexes.", documents::delete),
        route!(GET "/v1/documents/{id}/chunks", P(DocumentsRead), "A document's chunks in order (path, pages, text).", documents::chunks),
        route!(POST "/v1/documents/{id}/chunks", P(DocumentsWrite), "Correct or split one chunk (`version`, `edit`, `reason`); re-indexes that document only, as its next version.", documents::revise),
        route!(POST "/v1/search", P(DocumentsRead), "Retrieval only: the ranked chunks the caller may read, with BM25, dense and fused scores.", documents::search),
        route!(POST "/v1/ask", P(DocumentsRead), "Ask the knowledge base: an answer with citations, or `found: false` (SSE with stream: true).", documents::ask, timeout = Timeout::Generation),
        route!(GET "/v1/evals", P(EvalsRead), "The evaluation suites, each with its latest result here (metrics, pass or fail).", evals::list),
        route!(GET "/v1/evals/{id}/report", P(EvalsRead), "The latest report of suite `id` (metrics with thresholds, every case, run metadata).", evals::report),
        route!(POST "/v1/evals/{id}/runs", P(EvalsRun), "Run suite `id` in the background; returns a job, whose result links the report.", evals::run),
        route!(GET "/v1/model-risk/inventory", P(EvalsRead), "The model inventory: every model-backed chain with its owner, use, limits, fallback, configured model and weights hash, versions with their approvals, and mode.", model_risk::inventory),
        route!(GET "/v1/model-risk/metrics", P(EvalsRead), "Every watched figure of every chain now, against its threshold (policies::monitoring).", model_risk::metrics),
        route!(GET "/v1/model-risk/alerts", P(EvalsRead), "Monitoring alerts, open first (`all=true` adds resolved ones).", model_risk::alerts),
        route!(POST "/v1/model-risk/alerts/{id}", P(EvalsRun), "Acknowledge or resolve an alert (model-risk role; a resolution needs a note).", model_risk::update_alert),
        route!(POST "/v1/model-risk/chains/{chain}/mode", P(EvalsRun), "Switch a chain to its rule fallback or pause it, at once (model-risk role).", model_risk::set_mode),
        route!(POST "/v1/model-risk/chains/{chain}/restore", P(EvalsRun), "Ask for a chain to go back to its approved model: a four-eyes model_change approval.", model_risk::restore),
        route!(POST "/v1/model-risk/chains/{chain}/rollback", P(EvalsRun), "Roll a chain back to its previous approved version at once (model-risk role).", model_risk::rollback),
        route!(POST "/v1/model-risk/chains/{chain}/versions/{id}/approval", P(EvalsRun), "Ask for a retired or rejected version to serve again: a four-eyes model_change approval.", model_risk::version_approval),
        route!(GET "/v1/jobs", P(JobsRead), "The caller's recent background jobs.", jobs::list),
        route!(GET "/v1/jobs/{id}", P(JobsRead), "One background job's state, progress, result or error.", jobs::get),
        route!(GET "/v1/rfqs", P(RfqRead), "The RFQ blotter (filters: client, status, from, to, limit).", rfqs::list),
        route!(GET "/v1/rfqs/{id}", P(RfqRead), "One request for quote with its full trail: messages, quotes, approvals, audit.", rfqs::get),
        route!(GET "/v1/wecom/callback", Signed, "WeCom robot: the console's URL check (msg_signature, decrypted echostr).", wecom::verify),
        route!(POST "/v1/wecom/callback", Signed, "WeCom robot: an encrypted message or stream refresh in (msg_signature checked, 401 and audited if wrong); the encrypted passive reply out.", wecom::callback),
        route!(POST "/v1/chat/inbound", P(RfqSubmit), "Webhook adapter: one chat message in (replies go to webhook.callback_url).", rfqs::inbound),
        route!(GET "/v1/rfq/chats", P(Admin), "Chat → client mappings of the RFQ desk.", rfqs::list_chats),
        route!(POST "/v1/rfq/chats", P(Admin), "Map a chat to a client (replaces the chat's mapping).", rfqs::set_chat),
        route!(DELETE "/v1/rfq/chats/{id}", P(Admin), "Remove a chat → client mapping.", rfqs::remove_chat),
        route!(GET "/v1/rfq/market-data", P(RfqRead), "The desk's market data as loaded (files are re-read when they change).", rfqs::market_data),
        route!(POST "/v1/price", P(PricingRun), "Price one product (JSON product format) with Greeks; market from the request or the desk's market data. Audited.", pricing::price),
        route!(POST "/v1/risk/book", P(PricingRun), "Revalue a book of products: per-contract values, Greeks and errors, totals. Audited.", pricing::book),
        route!(POST "/v1/risk/grid", P(PricingRun), "Value a book over spot × vol × days (heat-map data). Audited.", pricing::grid),
        route!(GET "/v1/risk/exposure", P(RiskRead), "The desk's exposure per underlying now (book plus live quotes: cash delta, vega per vol point) against its limits, with utilisation.", rfqs::exposure),
        route!(POST "/v1/rfq/market-data/reload", P(PricingRun), "Re-read the desk's market data and book exposure files now.", rfqs::reload_market_data),
        route!(POST "/v1/chat/completions", P(ModelsUse), "OpenAI-compatible chat completion (SSE with stream: true; JSON Schema output by constrained decoding).", openai::chat_completions, timeout = Timeout::Generation),
        route!(POST "/v1/completions", P(ModelsUse), "OpenAI-compatible text completion of raw prompts (echo and log-probabilities for scoring; SSE with stream: true).", openai::completions, timeout = Timeout::Generation),
        route!(POST "/tokenize", P(ModelsUse), "vLLM-compatible tokenization of a text or a conversation by a model's tokenizer.", openai::tokenize),
        route!(POST "/detokenize", P(ModelsUse), "vLLM-compatible text of token ids.", openai::detokenize),
        route!(GET "/tokenizer_info", P(ModelsUse), "vLLM-compatible description of a model's tokenizer (special tokens, chat template).", openai::tokenizer_info),
        route!(POST "/v1/embeddings", P(ModelsUse), "OpenAI-compatible embeddings of one or more texts.", openai::embeddings),
        route!(GET "/v1/models", P(ModelsUse), "OpenAI-compatible list of the installed and registered models.", openai::list_models),
        route!(GET "/v1/models/{id}", P(ModelsUse), "OpenAI-compatible description of one installed or registered model.", openai::get_model),
        route!(GET "/v1/templates", P(DraftsRead), "The clause library: templates with their versions; `?q=` finds clauses with their fallbacks and positions.", templates::list),
        route!(GET "/v1/templates/{id}", P(DraftsRead), "One template (`?version=n`): its clause tree and Markdown.", templates::get),
        route!(POST "/v1/templates", P(DraftsWrite), "Import a template (Markdown with front matter) as the next version of its id; refused by name when a placeholder is wrong.", templates::import),
        route!(upload POST "/v1/templates/docx", P(DraftsWrite), "Import a firm's DOCX template (fields id, title, families, language, note; one file).", templates::import_docx),
        route!(POST "/v1/drafts", P(DraftsWrite), "Draft a confirmation from a trade (key terms or an approved extraction) on a clause-library template; version 1.", drafts::create),
        route!(GET "/v1/drafts", P(DraftsRead), "The most recent drafts of confirmations.", drafts::list),
        route!(GET "/v1/drafts/{id}", P(DraftsRead), "A draft: its text, clause tree with the filled values' spans, trade and versions.", drafts::get),
        route!(PUT "/v1/drafts/{id}", P(DraftsWrite), "Save an edit of a draft as its next version (409 with the diff when another save came first).", drafts::save),
        route!(GET "/v1/drafts/{id}/versions/{n}", P(DraftsRead), "The text of one saved version of a draft.", drafts::version),
        route!(POST "/v1/drafts/{id}/proofread", P(DraftsRead), "Proofread a version of a draft against its trade and template: located findings.", drafts::proofread),
        route!(upload POST "/v1/drafts/{id}/markups", P(DraftsRead), "Compare a counterparty's marked-up copy with a draft: changes by clause, classed and answered by policy, and the issues list.", drafts::markup),
        route!(GET "/v1/drafts/{id}/precedents", P(DraftsRead), "Precedents of a draft from the knowledge base: per clause, earlier confirmations that word it differently from the template.", drafts::precedents),
        route!(GET "/v1/drafts/{id}/markups", P(DraftsRead), "The counterparty mark-ups received for a draft, newest first.", drafts::markups),
        route!(GET "/v1/drafts/{id}/markups/{markup}/issues/{format}", P(DraftsRead), "A mark-up's issues list with talking points as a document (pdf, docx, md).", drafts::markup_issues),
        route!(POST "/v1/drafts/{id}/submit", P(DraftsWrite), "Send a draft's current version for legal approval (refused with the proofreader's errors, if any); decided in the approval queue.", drafts::submit),
        route!(POST "/v1/drafts/{id}/finalise", P(DraftsWrite), "Render the approved version as its final PDF and DOCX (fonts embedded, a signature page per party; SHA-256 audited).", drafts::finalise),
        route!(GET "/v1/drafts/{id}/final/{what}", P(DraftsRead), "Download the final PDF, DOCX, or the conformed copy dated on the last signature (pdf, docx, conformed).", drafts::final_file),
        route!(upload POST "/v1/drafts/{id}/signatures", P(DraftsWrite), "Upload one party's signed copy: matched to the final by content; the last one executes and dates the document.", drafts::sign),
        route!(upload POST "/v1/proofread", P(DraftsRead), "Proofread an uploaded agreement or confirmation (text, PDF, DOCX), optionally against a trade and template.", drafts::proofread_upload),
        route!(POST "/v1/compliance/compare", P(ComplianceRead), "Compare a trade's reports across regimes (CDM, FpML, a draft or an extraction; reporting facts): every regime's fields with provisions, differences, missing facts, deadlines; `?format=csv|xlsx`. Audited.", reporting::compare),
        route!(POST "/v1/compliance/reports", P(ComplianceRead), "Each applicable regime's report for a trade, as the regime writes it, with the fields the trade cannot fill.", reporting::reports),
        route!(POST "/v1/compliance/validate", P(ComplianceRead), "Validate a report the firm already has (JSON or CSV) against the regime's formats and the trade: findings with provisions.", reporting::validate),
        route!(POST "/v1/compliance/ask", P(ComplianceRead), "A rule question answered from the provisions, guidelines and laws, every citation a provision id (SSE with stream: true).", reporting::ask, timeout = Timeout::Generation),
        route!(upload POST "/v1/market-data", P(MarketWrite), "Import a file of daily bars (multipart: one CSV or JSON file, optional `contract`): refused whole naming the row and column, or stored with its notices and the move events it made. Audited.", market::import),
        route!(GET "/v1/market-data", P(MarketRead), "The contracts with market data, each with its first and last day.", market::contracts),
        route!(GET "/v1/market-data/{contract}", P(MarketRead), "A contract's daily bars (`from`, `to`).", market::bars),
        route!(GET "/v1/events", P(MarketRead), "Market events, newest first: moves found in the data and risk events opened by hand (`kind`, `contract`).", market::events),
        route!(POST "/v1/events", P(MarketWrite), "Open a risk event by hand: topic, products, window. Audited.", market::open),
        route!(GET "/v1/events/{id}", P(MarketRead), "One market event.", market::event),
        route!(GET "/v1/compliance/regimes", P(ComplianceRead), "The reporting regimes: authority, deadline with its source, fields.", reporting::regimes),
        route!(GET "/v1/compliance/provisions/{id}", P(ComplianceRead), "One provision of the rule catalogue (drr:…, jrt:…, firm:…).", reporting::provision),
        route!(GET "/v1/compliance/catalogue", P(ComplianceRead), "The rule catalogue's versions.", reporting::catalogue),
        route!(POST "/v1/compliance/catalogue", P(ComplianceManage), "Add the firm's own provisions (JSON lines) as the catalogue's next version. Audited.", reporting::add),
        route!(upload POST "/v1/extractions", P(ExtractionsSubmit), "Upload confirmations (multipart, several files) for extraction; returns a job id.", extractions::submit),
        route!(GET "/v1/extractions/{id}", P(ExtractionsRead), "An extraction job: state, and per file its status, key terms with evidence, conflicts, problems, CDM and approval.", extractions::get),
        route!(GET "/v1/extractions/{id}/exports", P(ExtractionsRead), "The approved files of an extraction job, exported (key terms, CDM, extension, source SHA-256).", extractions::exports),
        route!(GET "/v1/extraction-results/{id}", P(ExtractionsRead), "One approved extraction, exported: key terms, CDM TradeState, extension, source SHA-256.", extractions::result),
        route!(GET "/v1/extraction-results/{id}/cdm", P(ExtractionsRead), "The CDM 6.30.0 TradeState of an approved extraction.", extractions::result_cdm),
        route!(GET "/v1/extraction-results/{id}/key-terms", P(ExtractionsRead), "The key-terms object of an approved extraction.", extractions::result_key_terms),
        route!(POST "/v1/extraction-results/{id}/corrections", P(ApprovalsDecide), "Correct key terms of a pending extraction (an approval edit with reasons, audited).", extractions::correct),
        route!(POST "/v1/users/{name}/password", P(Admin), "Set a user's web password (argon2id; ends their sessions).", admin::set_password),
        route!(GET "/v1/sessions", P(Admin), "Web sessions that have not expired (revoked ones marked).", admin::list_sessions),
        route!(DELETE "/v1/sessions/{id}", P(Admin), "Revoke a web session.", admin::revoke_session),
        // The web application.
        route!(page GET "/assets/{name}", Public, "The application's stylesheet and script (content-hashed names, cached for a year).", ui::assets::get),
        route!(page GET "/sign-in", Public, "Sign-in page.", ui::auth::form),
        route!(page POST "/sign-in", Public, "Sign in with user name and password (rate-limited, audited); sets the session cookie.", ui::auth::submit),
        route!(page POST "/sign-out", Authenticated, "Sign out (ends the session).", ui::auth::sign_out),
        route!(page POST "/language", Authenticated, "Remember the viewer's language (en, zh).", ui::auth::language),
        route!(page GET "/", Authenticated, "Home: what waits for the viewer.", ui::home::home),
        route!(page GET "/approvals", P(ApprovalsRead), "Approval queue page.", ui::approvals::list),
        route!(page GET "/approvals/{id}", P(ApprovalsRead), "One approval request: versions, diffs, decision forms.", ui::approvals::detail),
        route!(page POST "/approvals/{id}/approve", P(ApprovalsDecide), "Approve from the page (names the version reviewed).", ui::approvals::approve),
        route!(page POST "/approvals/{id}/reject", P(ApprovalsDecide), "Reject from the page, with a reason.", ui::approvals::reject),
        route!(page POST "/approvals/{id}/edit", P(ApprovalsDecide), "Edit the payload from the page (names the version edited).", ui::approvals::edit),
        route!(page GET "/rfqs", P(RfqRead), "The live RFQ blotter page.", ui::rfqs::blotter),
        route!(page GET "/rfqs/rows", P(RfqRead), "The blotter's rows (HTML fragment for the live refresh).", ui::rfqs::rows_fragment),
        route!(page GET "/rfqs/events", P(RfqRead), "Server-sent `changed` events for live pages.", ui::rfqs::events),
        route!(page GET "/rfqs/{id}", P(RfqRead), "One request for quote's trail page.", ui::rfqs::detail),
        route!(page POST "/rfqs/new", P(RfqSubmit), "Enter a request taken by phone or e-mail for a client (desk staff): parsed, priced and queued like a chat request.", ui::rfqs::new_request),
        route!(page GET "/admin/users", P(Admin), "Users page: create, set passwords, issue tokens.", ui::admin::users),
        route!(page POST "/admin/users", P(Admin), "Create a user (with an optional password).", ui::admin::create_user),
        route!(page POST "/admin/users/{name}/password", P(Admin), "Set a user's password.", ui::admin::set_password),
        route!(page POST "/admin/users/{name}/tokens", P(Admin), "Issue an API token (shown once).", ui::admin::issue_token),
        route!(page GET "/admin/sessions", P(Admin), "Sessions page.", ui::admin::sessions),
        route!(page POST "/admin/sessions/{id}/revoke", P(Admin), "Revoke a session.", ui::admin::revoke_session),
        route!(page GET "/admin/audit", P(Admin), "Audit log page (verify the chain, export).", ui::admin::audit),
        route!(page GET "/admin/chats", P(Admin), "Chat → client mappings page.", ui::admin::chats),
        route!(page POST "/admin/chats", P(Admin), "Map a chat to a client from the page.", ui::admin::set_chat),
        route!(page POST "/admin/chats/{id}/remove", P(Admin), "Remove a chat mapping from the page.", ui::admin::remove_chat),
        route!(page GET "/admin/system", P(Admin), "Health, metrics and the configuration (secrets masked).", ui::admin::system),
        route!(page GET "/model-risk", P(EvalsRead), "Model-risk dashboard: open alerts, the inventory with versions, modes and switches, watched figures against thresholds with 24-hour charts, report results, model changes waiting.", ui::model_risk::index),
        route!(page POST "/model-risk/alerts/{id}", P(EvalsRun), "Acknowledge or resolve an alert from the page.", ui::model_risk::alert),
        route!(page POST "/model-risk/chains/{chain}/mode", P(EvalsRun), "Switch a chain to its fallback or pause it from the page.", ui::model_risk::mode),
        route!(page POST "/model-risk/chains/{chain}/restore", P(EvalsRun), "Ask from the page for a chain to go back to its model (a four-eyes approval).", ui::model_risk::restore),
        route!(page POST "/model-risk/chains/{chain}/rollback", P(EvalsRun), "Roll a chain back to its previous approved version from the page.", ui::model_risk::rollback),
        route!(page GET "/model-risk/reports/{suite}", P(EvalsRead), "The latest report of a suite on the page: verdict, run metadata and SHA-256, every metric against its threshold, charts, failed cases, notes.", ui::model_risk::report),
        route!(page POST "/model-risk/reports/{suite}/run", P(EvalsRun), "Run a suite from the page (a background job; its report is recorded in the audit log as a model change's evidence).", ui::model_risk::run_report),
        route!(page POST "/model-risk/chains/{chain}/versions/{id}/approval", P(EvalsRun), "Ask from the page for a retired or rejected version to serve again (a four-eyes approval).", ui::model_risk::version_approval),
        route!(page GET "/pricing", P(PricingRun), "Pricing page: a product with Greeks, a book, a scenario grid as a heat map.", ui::pricing::index),
        route!(page POST "/pricing/price", P(PricingRun), "Price one product from the page (audited as pricing.run).", ui::pricing::price),
        route!(page POST "/pricing/book", P(PricingRun), "Revalue a book from the page (audited as risk.book).", ui::pricing::book),
        route!(page POST "/pricing/grid", P(PricingRun), "Scenario grid from the page, shown as a heat map (audited as risk.grid).", ui::pricing::grid),
        route!(page GET "/knowledge", P(DocumentsRead), "Knowledge base page: documents, upload, search and ask.", ui::knowledge::index),
        route!(page upload POST "/knowledge/upload", P(DocumentsWrite), "Upload documents from the page (multipart with the form token first).", ui::knowledge::upload),
        route!(page GET "/knowledge/documents/{id}", P(DocumentsRead), "One document's chunks (path, pages, text).", ui::knowledge::document),
        route!(page POST "/knowledge/documents/{id}/delete", P(DocumentsWrite), "Delete a document from the page.", ui::knowledge::delete),
        route!(page POST "/knowledge/documents/{id}/chunks", P(DocumentsWrite), "Correct or split a chunk from the page; re-indexes that document only.", ui::knowledge::revise),
        route!(page GET "/knowledge/search", P(DocumentsRead), "Search playground: hits with BM25, dense and fused scores.", ui::knowledge::search),
        route!(page GET "/knowledge/ask", P(DocumentsRead), "Ask: an answer with citations linked to their chunks.", ui::knowledge::ask, timeout = Timeout::Generation),
        // Operations: upload, extraction jobs, the review of one file.
        route!(page GET "/drafting", P(DraftsRead), "Drafting: recent drafts, draft a confirmation from a trade, proofread an uploaded document.", ui::drafting::index),
        route!(page POST "/drafting", P(DraftsWrite), "Draft a confirmation from the page; redirects to its workspace.", ui::drafting::create),
        route!(page POST "/drafting/stream", P(DraftsWrite), "Draft from the page with the model's steps streamed (server-sent events).", ui::drafting::create_stream),
        route!(page upload POST "/drafting/proofread", P(DraftsRead), "Proofread an uploaded document from the page (multipart, form token first).", ui::drafting::proofread_upload),
        route!(page GET "/drafting/library", P(DraftsRead), "The clause library: templates and versions, clause search with fallbacks and positions, Markdown and DOCX imports.", ui::drafting::library),
        route!(page POST "/drafting/library", P(DraftsWrite), "Import a template (Markdown with front matter) from the page.", ui::drafting::library_import),
        route!(page upload POST "/drafting/library/docx", P(DraftsWrite), "Import a firm's DOCX template from the page (multipart, form token first).", ui::drafting::library_import_docx),
        route!(page GET "/drafting/{id}", P(DraftsRead), "A draft's workspace: clause outline, the document with its values and findings highlighted, findings, versions and diffs, the editor.", ui::drafting::workspace),
        route!(page upload POST "/drafting/{id}/markup", P(DraftsRead), "Compare a counterparty's mark-up from the page: changes by clause with redline, response and the issues list.", ui::drafting::markup),
        route!(page POST "/drafting/{id}/submit", P(DraftsWrite), "Send a draft's current version for legal approval from the page.", ui::drafting::submit),
        route!(page POST "/drafting/{id}/approve", P(ApprovalsDecide), "Approve a draft's pending request from its workspace (the queue's rules, four-eyes included).", ui::drafting::approve),
        route!(page POST "/drafting/{id}/reject", P(ApprovalsDecide), "Reject a draft's pending request from its workspace, with a reason.", ui::drafting::reject),
        route!(page POST "/drafting/{id}/finalise", P(DraftsWrite), "Finalise an approved draft from the page: the final PDF and DOCX.", ui::drafting::finalise),
        route!(page GET "/drafting/{id}/final/{what}", P(DraftsRead), "Download a draft's final PDF, DOCX or conformed copy.", ui::drafting::final_file),
        route!(page GET "/drafting/{id}/precedents", P(DraftsRead), "A draft's precedents from the knowledge base, clause by clause.", ui::drafting::precedents),
        route!(page GET "/drafting/{id}/markups/{markup}/issues/{format}", P(DraftsRead), "Download a mark-up's issues list (pdf, docx, md).", ui::drafting::markup_issues),
        route!(page upload POST "/drafting/{id}/signatures", P(DraftsWrite), "Upload one party's signed copy from the page (multipart, form token first).", ui::drafting::sign),
        route!(page POST "/drafting/{id}/save", P(DraftsWrite), "Save an edit from the page as the next version (a stale edit is shown with the diff, nothing lost).", ui::drafting::save),
        route!(page GET "/research", P(MarketRead), "Research and risk: the market data held, a daily-bars import, the events (moves found in the data, risk events opened by hand).", ui::research::index),
        route!(page upload POST "/research/import", P(MarketWrite), "Import a file of daily bars from the page (multipart, form token first).", ui::research::import),
        route!(page POST "/research/events", P(MarketWrite), "Open a risk event from the page.", ui::research::open),
        route!(page GET "/research/events/{id}", P(MarketRead), "An event's numbers and a chart of the prices around it.", ui::research::event),
        route!(page GET "/compliance", P(ComplianceRead), "Compliance: a trade's reports across regimes (applicable regimes with deadlines, the field matrix with provisions, differences, missing facts), validation, rule questions.", ui::compliance::index),
        route!(page POST "/compliance/compare", P(ComplianceRead), "Compare a trade's reports from the page.", ui::compliance::compare),
        route!(page POST "/compliance/export", P(ComplianceRead), "Download the comparison as CSV or Excel from the page.", ui::compliance::export),
        route!(page upload POST "/compliance/validate", P(ComplianceRead), "Validate an uploaded report from the page (multipart, form token first).", ui::compliance::validate),
        route!(page GET "/compliance/ask", P(ComplianceRead), "A rule question answered from the provisions with citations.", ui::compliance::ask, timeout = Timeout::Generation),
        route!(page GET "/compliance/ask/stream", P(ComplianceRead), "The rule answer streamed to the page (server-sent events): the named fields' provisions quoted at once, then the model's checked sentences, then the rendered answer.", ui::compliance::ask_stream, timeout = Timeout::Generation),
        route!(page GET "/compliance/provisions/{id}", P(ComplianceRead), "One provision of the rule catalogue.", ui::compliance::provision),
        route!(page GET "/extractions", P(ExtractionsRead), "Operations: upload confirmations, recent extraction jobs, reviews waiting.", ui::ops::list),
        route!(page upload POST "/extractions", P(ExtractionsSubmit), "Upload confirmations from the page (multipart, form token first); redirects to the job.", ui::ops::upload),
        route!(page GET "/extractions/{id}", P(ExtractionsRead), "One extraction job: each file's status (refreshes itself while running).", ui::ops::job),
        route!(page GET "/extractions/{id}/files/{index}", P(ExtractionsRead), "The review of one file: page images with evidence boxes, fields, corrections, decision, exports.", ui::ops::review),
        route!(page GET "/extractions/{id}/files/{index}/pages/{page}", P(ExtractionsRead), "A page of the uploaded file as an image (PDF pages rendered by pdftoppm, cached).", ui::ops::page_image),
        route!(page POST "/extractions/{id}/files/{index}/corrections", P(ApprovalsDecide), "Correct one field with a reason (an approval edit, audited).", ui::ops::correct),
        route!(page POST "/extractions/{id}/files/{index}/approve", P(ApprovalsDecide), "Approve the file's extraction (four-eyes; names the version reviewed).", ui::ops::approve),
        route!(page POST "/extractions/{id}/files/{index}/reject", P(ApprovalsDecide), "Reject the file's extraction with a reason.", ui::ops::reject),
        route!(page GET "/extractions/{id}/files/{index}/export/{what}", P(ExtractionsRead), "Download an approved extraction's CDM JSON (`cdm`) or key terms (`key-terms`).", ui::ops::export),
    ]
}
