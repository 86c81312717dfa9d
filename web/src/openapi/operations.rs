//! What each API route reads and answers, for the OpenAPI document: its request body (a
//! handler's type, a multipart upload, raw bytes), its query type, its success status and
//! reply, and the error statuses its work adds to those its access and inputs give. Keyed by
//! the route table's method and path; a route missing here is documented with a generic object
//! body and reply, which the CI test allows only for the OpenAI-compatible routes.

use crate::access::RouteInfo;
use crate::handlers::compliance as reporting;
use crate::handlers::{
    admin, approvals, audit, documents, drafts, extractions, jobs, market, model_risk, rfqs,
    system, templates,
};
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// Writes a type's schema (a `$ref` into `components/schemas`, or inline).
pub(crate) type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// A request body.
pub(crate) enum Body {
    /// None.
    None,
    /// JSON of a handler's type; `required` is false where an empty body means the defaults.
    Json { schema: SchemaFn, required: bool },
    /// JSON the handler reads with a type of a lower crate (or of a module still to describe
    /// its types): an object, with a description of what it holds.
    AnyJson(&'static str),
    /// `multipart/form-data`: file parts and the text fields named (with their descriptions).
    Multipart {
        files: Files,
        fields: &'static [(&'static str, &'static str)],
    },
    /// Bytes of a media type, read by the handler itself.
    Raw {
        media_type: &'static str,
        description: &'static str,
    },
}

/// How many files an upload takes.
pub(crate) enum Files {
    One,
    Many,
}

/// The success reply.
pub(crate) enum Reply {
    /// JSON of a handler's type.
    Json(SchemaFn),
    /// JSON built ad hoc or of a lower crate's type: an object, with what it holds.
    Object(&'static str),
    /// No body.
    Empty,
    /// Only the media types of [`Spec::also_as`] (a file, text), with a description.
    Media(&'static str),
}

/// One operation's inputs and outputs.
pub(crate) struct Spec {
    pub status: u16,
    pub reply: Reply,
    /// Other media types of the success reply, with what each holds (SSE, CSV, a PDF).
    pub also_as: &'static [(&'static str, &'static str)],
    pub body: Body,
    pub query: Option<SchemaFn>,
    /// Path parameters that are integers (all others are strings).
    pub integers: &'static [&'static str],
    /// Error statuses beyond those of the access, inputs and limits.
    pub extra: Vec<u16>,
    /// A sentence added to the description.
    pub note: Option<&'static str>,
}

fn reply(status: u16, reply: Reply) -> Spec {
    Spec {
        status,
        reply,
        also_as: &[],
        body: Body::None,
        query: None,
        integers: &[],
        extra: Vec::new(),
        note: None,
    }
}

fn ok(r: Reply) -> Spec {
    reply(200, r)
}

fn object(description: &'static str) -> Reply {
    Reply::Object(description)
}

fn typed<T: JsonSchema>() -> Reply {
    Reply::Json(|g| g.subschema_for::<T>())
}

impl Spec {
    fn json<T: JsonSchema>(mut self) -> Spec {
        self.body = Body::Json {
            schema: |g| g.subschema_for::<T>(),
            required: true,
        };
        self
    }

    fn optional_json<T: JsonSchema>(mut self) -> Spec {
        self.body = Body::Json {
            schema: |g| g.subschema_for::<T>(),
            required: false,
        };
        self
    }

    fn body(mut self, body: Body) -> Spec {
        self.body = body;
        self
    }

    fn query<T: JsonSchema>(mut self) -> Spec {
        self.query = Some(|g| T::json_schema(g));
        self
    }

    fn also_as(mut self, media: &'static [(&'static str, &'static str)]) -> Spec {
        self.also_as = media;
        self
    }

    fn extra(mut self, codes: &[u16]) -> Spec {
        self.extra.extend_from_slice(codes);
        self
    }

    fn integers(mut self, names: &'static [&'static str]) -> Spec {
        self.integers = names;
        self
    }

    fn note(mut self, note: &'static str) -> Spec {
        self.note = Some(note);
        self
    }
}

fn upload(files: Files, fields: &'static [(&'static str, &'static str)]) -> Body {
    Body::Multipart { files, fields }
}

/// Statuses of routes that call a model: the remote server failed, or the model was slow.
const MODEL: &[u16] = &[502, 504];
/// What a decision on an approval request answers.
const DECIDED: &str = "`{\"approval\", \"changed\"}`: the request after the decision (`assistant::approvals::Decided`); `changed` is false for an idempotent repeat.";
/// The knowledge base is not open in this process (its models missing, or another process
/// holds it): 409 `conflict`.
const KB: &[u16] = &[409];
/// A body naming another object (a draft, an extraction, a quote) that does not exist.
const REFERS: &[u16] = &[404];
/// A streamed answer's media type.
const SSE: &[(&str, &str)] = &[(
    "text/event-stream",
    "With `stream: true`: server-sent events (`delta` events as the text is written, then one `answer` event, or one `error` event).",
)];

/// The specs of the OpenAI-compatible routes (`handlers::openai`), as `(method, path, spec)`:
/// their request types; their replies are OpenAI's shapes, described in words.
fn openai_provided() -> Vec<(&'static str, &'static str, Spec)> {
    use crate::handlers::openai::{self, chat, completions, tokenize};
    const STREAM: &[(&str, &str)] = &[(
        "text/event-stream",
        "With `stream: true`: server-sent events, each `data:` a chunk object, ending with `data: [DONE]` (an error after the first event arrives as a last `data: {\"error\": …}` event).",
    )];
    vec![
        (
            "POST",
            "/v1/chat/completions",
            ok(object(
                "OpenAI's `chat.completion`: `choices` (`message` with `content` and `tool_calls`, `logprobs`, `finish_reason`: stop, length or tool_calls) and `usage`.",
            ))
            .json::<chat::ChatCompletionRequest>()
            .also_as(STREAM)
            .extra(MODEL),
        ),
        (
            "POST",
            "/v1/completions",
            ok(object(
                "OpenAI's `text_completion`: `choices` (`text`, legacy `logprobs` with `tokens`, `token_logprobs`, `top_logprobs`, `text_offset`, `finish_reason`) and `usage`.",
            ))
            .json::<completions::CompletionRequest>()
            .also_as(STREAM)
            .extra(MODEL),
        ),
        (
            "POST",
            "/v1/embeddings",
            ok(object(
                "OpenAI's `list` of `embedding` objects (`embedding` as floats or base64, `index`, and `truncated`) with `usage`.",
            ))
            .json::<openai::EmbeddingsRequest>()
            .extra(MODEL),
        ),
        (
            "GET",
            "/v1/models",
            ok(object(
                "OpenAI's `list` of `model` objects, each with its `role` (generator or embedder) and `backend`.",
            )),
        ),
        (
            "GET",
            "/v1/models/{id}",
            ok(object("OpenAI's `model` object, with its `role` and `backend`.")),
        ),
        (
            "POST",
            "/tokenize",
            ok(object(
                "`{\"count\", \"max_model_len\", \"tokens\", \"token_strs\"?}` (vLLM's shape).",
            ))
            .json::<tokenize::TokenizeRequest>(),
        ),
        (
            "POST",
            "/detokenize",
            ok(object("`{\"prompt\"}`: the text of the tokens (vLLM's shape)."))
            .json::<tokenize::DetokenizeRequest>(),
        ),
        (
            "GET",
            "/tokenizer_info",
            ok(object(
                "The tokenizer's special tokens, chat template, `model_max_length` and `vocab_size` (vLLM's shape).",
            ))
            .query::<tokenize::InfoQuery>(),
        ),
    ]
}

/// Whether a route is one of the OpenAI-compatible endpoints, whose types `handlers::openai`
/// will provide ([`openai_provided`]).
pub(crate) fn openai_compatible(r: &RouteInfo) -> bool {
    r.summary.starts_with("OpenAI-compatible")
        || matches!(
            r.path,
            "/v1/chat/completions"
                | "/v1/completions"
                | "/v1/embeddings"
                | "/v1/models"
                | "/v1/models/{id}"
                | "/tokenize"
                | "/detokenize"
                | "/v1/tokenize"
                | "/v1/detokenize"
        )
}

/// The generic description of a route without a spec: any JSON object in (for a method with a
/// body) and out.
fn openai_generic(method: &str) -> Spec {
    let s = ok(object(
        "A JSON object (its schema is not described yet; for the OpenAI-compatible routes, see \
         OpenAI's API reference).",
    ));
    match method {
        "POST" | "PUT" | "PATCH" => s.body(Body::AnyJson(
            "A JSON object (its schema is not described yet; for the OpenAI-compatible routes, \
             see OpenAI's API reference).",
        )),
        _ => s,
    }
}

/// The spec of `method path`, and whether it is described (rather than generic).
pub(crate) fn spec(method: &str, path: &str) -> (Spec, bool) {
    if let Some((_, _, s)) = openai_provided()
        .into_iter()
        .find(|(m, p, _)| *m == method && *p == path)
    {
        return (s, true);
    }
    let s = match (method, path) {
        // System.
        ("GET", "/healthz") => ok(typed::<system::Health>()),
        ("GET", "/readyz") => ok(typed::<system::Readiness>()),
        ("GET", "/metrics") => ok(Reply::Media("Prometheus metrics.")).also_as(&[(
            "text/plain",
            "The Prometheus text exposition format, version 0.0.4.",
        )]),
        ("GET", "/v1/me") => ok(typed::<system::Me>()),
        ("GET", "/v1/routes") => ok(typed::<system::RouteList>()),
        ("GET", "/openapi.json") => ok(object("This OpenAPI 3.1 document.")),
        ("GET", "/v1/config") => ok(object(
            "The effective configuration (`assistant::config::Config`), secrets masked.",
        )),
        // Users, tokens, sessions.
        ("GET", "/v1/users") => ok(object("`{\"users\": [User]}`: every user with its role.")),
        ("POST", "/v1/users") => {
            reply(201, object("The user created (`name`, `role`, `created_at`).")).json::<admin::CreateUser>()
        }
        ("POST", "/v1/users/{name}/tokens") => reply(
            201,
            object("The token issued (`token` shown this once, `id`, `label`, `expires_at`)."),
        )
        .optional_json::<admin::IssueToken>(),
        ("DELETE", "/v1/tokens/{id}") => reply(204, Reply::Empty),
        ("POST", "/v1/users/{name}/password") => {
            reply(204, Reply::Empty).json::<admin::SetPassword>()
        }
        ("GET", "/v1/sessions") => ok(object(
            "`{\"sessions\": [...]}`: web sessions that have not expired (revoked ones marked).",
        )),
        ("DELETE", "/v1/sessions/{id}") => reply(204, Reply::Empty),
        // Audit.
        ("GET", "/v1/audit") => ok(object("`{\"entries\": [...], \"next_from_seq\"}`: audit entries in order.")).query::<audit::AuditQuery>(),
        ("GET", "/v1/audit/verify") => ok(object(
            "The verification report of the audit chain and its anchor (`assistant::audit::VerifyReport`).",
        )),
        // Approvals.
        ("GET", "/v1/approvals") => {
            ok(object("`{\"approvals\": [...]}`: approval requests, newest first.")).query::<approvals::ListQuery>()
        }
        ("POST", "/v1/approvals") => reply(
            201,
            object("The approval request created (`assistant::approvals::Approval`)."),
        )
        .json::<approvals::CreateApproval>(),
        ("GET", "/v1/approvals/{id}") => ok(object(
            "The approval request with every payload version (`assistant::approvals::Approval`).",
        )),
        ("POST", "/v1/approvals/{id}/approve") => {
            ok(object(DECIDED)).optional_json::<approvals::ApproveBody>()
        }
        ("POST", "/v1/approvals/{id}/reject") => {
            ok(object(DECIDED)).json::<approvals::RejectBody>()
        }
        ("POST", "/v1/approvals/{id}/edit") => {
            ok(object(DECIDED)).json::<approvals::EditBody>()
        }
        // Knowledge base.
        ("POST", "/v1/documents") => reply(202, object("`{\"job\": Job}`: the ingestion job."))
            .body(upload(
                Files::Many,
                &[
                    ("collection", "The collection (default `default`)."),
                    ("classification", "`general` (default), `important`, `core`, optionally `+sensitive`."),
                    ("replaces", "The id of a document this one replaces (one file only)."),
                    ("declassify", "`true` to allow a lower classification than the replaced document's."),
                ],
            ))
            .extra(MODEL),
        ("GET", "/v1/documents") => ok(object("`{\"documents\": [...]}`: the documents the caller may read."))
            .query::<documents::ListQuery>()
            .extra(KB),
        ("DELETE", "/v1/documents/{id}") => reply(204, Reply::Empty),
        ("GET", "/v1/documents/{id}/chunks") => ok(object("`{\"document\", \"chunks\"}`: the document and its chunks in order (path, pages, text).")).extra(KB),
        ("POST", "/v1/documents/{id}/chunks") => ok(object("`{\"document\"}`: the document at its new version."))
            .json::<documents::ReviseBody>()
            .extra(MODEL),
        ("POST", "/v1/search") => ok(object(
            "The ranked chunks with BM25, dense and fused scores (`knowledge::report::SearchReport`).",
        ))
        .json::<documents::SearchBody>()
        .extra(MODEL),
        ("POST", "/v1/ask") => ok(object(
            "The answer with its citations, or `found: false` (`knowledge::Answer`).",
        ))
        .json::<documents::AskBody>()
        .also_as(SSE)
        .extra(MODEL),
        // Evaluations and model risk.
        ("GET", "/v1/evals") => ok(object("`{\"suites\": [...]}`: each suite with its latest result.")),
        ("GET", "/v1/evals/{id}/report") => ok(object("The suite's latest report.")),
        ("POST", "/v1/evals/{id}/runs") => reply(202, object("`{\"job\": Job}`: the run's job.")),
        ("GET", "/v1/model-risk/inventory") => ok(object("`{\"chains\": [...]}`: every model-backed chain with its versions and mode.")),
        ("GET", "/v1/model-risk/metrics") => ok(object("`{\"metrics\": [...]}`: every watched figure of every chain against its threshold.")),
        ("GET", "/v1/model-risk/alerts") => ok(object("`{\"alerts\": [...]}`: monitoring alerts, open first."))
            .query::<model_risk::AlertsQuery>(),
        ("POST", "/v1/model-risk/alerts/{id}") => ok(object("`{\"alert\"}`: the alert after the update."))
            .json::<model_risk::AlertUpdate>(),
        ("POST", "/v1/model-risk/chains/{chain}/mode") => ok(object("`{\"chain\", \"mode\"}`: the chain's new mode."))
            .json::<model_risk::ModeChange>(),
        ("POST", "/v1/model-risk/chains/{chain}/restore") => reply(202, object("`{\"approval_id\"}`: the model_change approval requested."))
            .json::<model_risk::Restore>(),
        ("POST", "/v1/model-risk/chains/{chain}/rollback") => ok(object("`{\"approved_version\"}`: the version serving after the rollback."))
            .json::<model_risk::Restore>(),
        ("POST", "/v1/model-risk/chains/{chain}/versions/{id}/approval") => reply(202, object("`{\"approval_id\"}`: the model_change approval requested."))
            .json::<model_risk::Restore>(),
        // Jobs.
        ("GET", "/v1/jobs") => ok(object("`{\"jobs\": [...]}`: the caller's recent jobs.")).query::<jobs::JobsQuery>(),
        ("GET", "/v1/jobs/{id}") => ok(object("The job (`assistant::jobs::Job`): state, progress, result or error.")),
        // RFQ desk.
        ("GET", "/v1/rfqs") => ok(object("`{\"rfqs\": [...]}`: the blotter.")).query::<rfqs::ListQuery>(),
        ("GET", "/v1/rfqs/{id}") => ok(object("The request for quote with its trail (`assistant::desk::RfqDetail`).")),
        ("GET", "/v1/wecom/callback") => ok(Reply::Media("The decrypted `echostr`."))
            .note("Answers 404 while `wecom.enabled` is false.")
            .also_as(&[("text/plain", "The decrypted echo.")])
            .query::<WecomQuery>(),
        ("POST", "/v1/wecom/callback") => ok(object("The encrypted passive reply (empty when there is none)."))
            .note("Answers 404 while `wecom.enabled` is false.")
            .query::<WecomQuery>()
            .body(Body::Raw {
                media_type: "application/json",
                description: "WeCom's encrypted callback (`{\"encrypt\": …}`).",
            }),
        ("POST", "/v1/chat/inbound") => reply(202, object("What was received and queued (`assistant::desk::Received`)."))
            .json::<rfqs::InboundBody>(),
        ("GET", "/v1/rfq/chats") => ok(object("`{\"chats\": [...]}`: chat → client mappings.")),
        ("POST", "/v1/rfq/chats") => reply(201, object("The mapping (`assistant::desk::ChatMapping`)."))
            .json::<rfqs::SetChat>(),
        ("DELETE", "/v1/rfq/chats/{id}") => reply(204, Reply::Empty),
        ("GET", "/v1/rfq/market-data") => ok(object("The desk's market data as loaded (`MarketDataSummary`).")),
        ("POST", "/v1/rfq/market-data/reload") => ok(object("The desk's market data as reloaded (`MarketDataSummary`).")),
        ("GET", "/v1/risk/exposure") => ok(object("Exposure per underlying against its limits (`ExposureReport`).")),
        // Pricing: the pricing core's JSON product format (`kernels/examples/`).
        ("POST", "/v1/price") => ok(object("The price with Greeks (`kernels::pricing::PriceResult`)."))
            .body(Body::AnyJson("`{\"product\": {...}, \"market\"?, \"engine\"?, \"greeks\"?, \"paths\"?, \"seed\"?, \"backend\"?}` (`assistant::desk::adhoc::PriceInput`; products in the pricing core's JSON format)."))
            .extra(&[422]),
        ("POST", "/v1/risk/book") => ok(object("Per-contract values, Greeks and errors, and totals (`kernels::risk::BookResult`)."))
            .body(Body::AnyJson("`{\"products\": [...], \"market\"?}` (`assistant::desk::adhoc::BookInput`)."))
            .extra(&[422]),
        ("POST", "/v1/risk/grid") => ok(object("Values over spot × vol × days (`kernels::risk::GridResult`)."))
            .body(Body::AnyJson("`{\"products\": [...], \"grid\": {\"spot_pct\", \"vol_shift\", \"days\"}}` (`assistant::desk::adhoc::GridInput`)."))
            .extra(&[422]),
        // Market data and events (research and risk).
        ("POST", "/v1/market-data") => reply(201, object("What the import did (`assistant::market::ImportReport`): bars new and known, notices, the move events made."))
            .body(upload(
                Files::One,
                &[
                    ("contract", "The contract of a file without a contract column."),
                    ("unit", "What its prices are in (`USD/bbl`, `points`) when it has no unit column."),
                ],
            )),
        ("GET", "/v1/market-data") => ok(object("`{\"contracts\": [...]}`: each with its first and last day and number of bars.")),
        ("GET", "/v1/market-data/{contract}") => ok(object("`{\"contract\", \"bars\": [...]}`.")).query::<market::BarsQuery>(),
        ("GET", "/v1/events") => ok(object("`{\"events\": [...]}`, newest first.")).query::<market::EventsQuery>(),
        ("POST", "/v1/events") => reply(201, object("The risk event opened (`assistant::market::MarketEvent`).")).json::<market::OpenBody>(),
        ("GET", "/v1/events/{id}") => ok(object("The event (`assistant::market::MarketEvent`).")),
        // Clause library and drafts.
        ("GET", "/v1/templates") => ok(object("`{\"templates\": [...]}`, or with `q` the clauses found.")).query::<templates::ListQuery>(),
        ("GET", "/v1/templates/{id}") => ok(object("The template's clause tree and Markdown.")).query::<templates::GetQuery>(),
        ("POST", "/v1/templates") => reply(201, object("The template version imported (`assistant::templates::TemplateRecord`)."))
            .json::<templates::ImportBody>(),
        ("POST", "/v1/templates/docx") => reply(201, object("The template version imported (`assistant::templates::TemplateRecord`)."))
            .body(upload(
                Files::One,
                &[
                    ("id", "The template's id."),
                    ("title", "Its title."),
                    ("families", "Product families, comma-separated."),
                    ("language", "`en` (default) or `zh`."),
                    ("note", "Why."),
                ],
            )),
        ("POST", "/v1/drafts") => reply(201, object("The draft, version 1 (`assistant::drafts::DraftRecord`)."))
            .json::<drafts::CreateBody>()
            .extra(REFERS)
            .also_as(&[(
                "text/event-stream",
                "With `stream: true`: the model's steps as server-sent events, then the draft.",
            )])
            .extra(MODEL),
        ("GET", "/v1/drafts") => ok(object("`{\"drafts\": [...]}`: the most recent drafts.")),
        ("GET", "/v1/drafts/{id}") => ok(object("The draft (`assistant::drafts::DraftRecord`).")),
        ("PUT", "/v1/drafts/{id}") => ok(object("The draft with its new version.")).json::<drafts::SaveBody>(),
        ("GET", "/v1/drafts/{id}/versions/{n}") => ok(object("`{\"version\", \"text\"}`: one saved version.")).integers(&["n"]),
        ("POST", "/v1/drafts/{id}/proofread") => ok(object("Located findings (`drafting::proofread::Report`)."))
            .json::<drafts::ProofreadBody>(),
        ("POST", "/v1/drafts/{id}/markups") => ok(object("`{\"id\", \"version\", \"changes\", \"clauses_matched\", \"clauses_ours\", \"issues_list\", \"ocr\"}`: the mark-up compared clause by clause, with the issues list."))
            .body(upload(Files::One, &[])),
        ("GET", "/v1/drafts/{id}/precedents") => ok(object("Precedents per clause (`assistant::draft_precedents::Precedents`).")).extra(KB),
        ("GET", "/v1/drafts/{id}/markups") => ok(object("`{\"markups\": [...]}`: the mark-ups received, newest first.")),
        ("GET", "/v1/drafts/{id}/markups/{markup}/issues/{format}") => ok(Reply::Media("The issues list as a file (`format`: pdf, docx, md)."))
            .also_as(&[
                ("application/pdf", "`pdf`"),
                ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "`docx`"),
                ("text/markdown", "`md`"),
            ]),
        ("POST", "/v1/drafts/{id}/submit") => ok(object("The draft, sent for approval.")),
        ("POST", "/v1/drafts/{id}/finalise") => ok(object("The draft with its final files' SHA-256.")),
        ("GET", "/v1/drafts/{id}/final/{what}") => ok(Reply::Media("The final file (`what`: pdf, docx, conformed)."))
            .also_as(&[
                ("application/pdf", "`pdf`, `conformed`"),
                ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "`docx`"),
            ]),
        ("POST", "/v1/drafts/{id}/signatures") => ok(object("The draft with the signature recorded."))
            .body(upload(
                Files::One,
                &[
                    ("party", "Who signed: `party_a` or `party_b`."),
                    ("signed_on", "The signature's date (YYYY-MM-DD); default today."),
                ],
            )),
        ("POST", "/v1/proofread") => ok(object("`{\"language\", \"template\", \"report\"}`: located findings."))
            .body(upload(
                Files::One,
                &[
                    ("trade", "The trade's key terms as JSON (optional)."),
                    ("template", "A clause-library template id (optional)."),
                    ("language", "`en` or `zh` (default: detected)."),
                    ("holidays", "Extra holidays, comma-separated YYYY-MM-DD."),
                ],
            )),
        // Trade reporting.
        ("POST", "/v1/compliance/compare") => ok(object("Every regime's fields with provisions, differences, missing facts, deadlines."))
            .json::<reporting::TradeBody>()
            .query::<reporting::FormatQuery>()
            .extra(REFERS)
            .also_as(&[
                ("text/csv", "With `format=csv`."),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "With `format=xlsx`."),
            ]),
        ("POST", "/v1/compliance/reports") => ok(object("Each applicable regime's report, with the fields the trade cannot fill."))
            .json::<reporting::TradeBody>()
            .extra(REFERS),
        ("POST", "/v1/compliance/validate") => ok(object("Findings with provisions (`assistant::reporting::Validation`)."))
            .json::<reporting::TradeBody>()
            .extra(REFERS),
        ("POST", "/v1/compliance/ask") => ok(object("The answer with provision citations."))
            .json::<reporting::AskBody>()
            .also_as(SSE)
            .extra(MODEL),
        ("GET", "/v1/compliance/regimes") => ok(object("`{\"regimes\": [...]}`: authority, deadline, fields.")),
        ("GET", "/v1/compliance/provisions/{id}") => ok(object("The provision (`compliance::catalogue::Provision`).")),
        ("GET", "/v1/compliance/catalogue") => ok(object("`{\"versions\": [...]}`: the rule catalogue's versions.")),
        ("POST", "/v1/compliance/catalogue") => ok(object("The catalogue's new version (`assistant::reporting::CatalogueVersion`)."))
            .json::<reporting::AddBody>(),
        // Extraction.
        ("POST", "/v1/extractions") => reply(202, object("`{\"job_id\", \"state\", \"files\", \"status_url\"}`."))
            .body(upload(Files::Many, &[])),
        ("GET", "/v1/extractions/{id}") => ok(object("The extraction job with each file's key terms, evidence, CDM and approval.")),
        ("GET", "/v1/extractions/{id}/exports") => ok(object("`{\"exports\": [...]}`: the approved files, exported.")),
        ("GET", "/v1/extraction-results/{id}") => ok(object("One approved extraction, exported (`ExtractionExport`).")),
        ("GET", "/v1/extraction-results/{id}/cdm") => ok(object("The CDM 6.30.0 TradeState.")),
        ("GET", "/v1/extraction-results/{id}/key-terms") => ok(object("The key-terms object.")),
        ("POST", "/v1/extraction-results/{id}/corrections") => ok(object(DECIDED))
            .json::<extractions::CorrectionsBody>(),
        // Any other route (the OpenAI-compatible ones, until `openai_provided` lists them).
        (method, _) => return (openai_generic(method), false),
    };
    (s, true)
}

/// The WeCom callback's query (`connectors::wecom::Query`, which knows nothing of schemas).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct WecomQuery {
    /// The signature.
    msg_signature: Option<String>,
    /// Unix seconds.
    timestamp: Option<String>,
    /// A random string.
    nonce: Option<String>,
    /// The URL check's encrypted echo (`GET` only).
    echostr: Option<String>,
}
