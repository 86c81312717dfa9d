//! Background jobs (ingestion, extraction, evaluation runs): a durable record of each job's state,
//! progress, result and error, so that a client can poll `GET /v1/jobs/{id}` and a restart never
//! loses track of what was asked for.

use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::sql::{self, text_enum};
use crate::store::{Actor, AuditRecord, time};
use policies::DataClass;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

text_enum! {
    /// A job's life-cycle state (`jobs.state`).
    pub enum JobState in "jobs.state" as "job state" {
        /// Accepted, not started.
        Queued = "queued",
        /// Running.
        Running = "running",
        /// Finished with a result.
        Succeeded = "succeeded",
        /// Finished with an error.
        Failed = "failed",
        /// Stopped on request.
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// What kind of work a job does (`jobs.kind`).
    pub enum JobKind in "jobs.kind" as "job kind" {
        /// Ingesting uploaded documents into the knowledge base.
        DocumentIngest = "document.ingest",
        /// Extracting key terms from uploaded confirmations ([`crate::extraction_review`]).
        Extraction = "extraction",
        /// Running an evaluation suite.
        Eval = "eval",
    }
}

/// A job as shown.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Job {
    /// Id (`job_…`).
    pub id: String,
    /// What kind of work.
    pub kind: JobKind,
    /// State.
    pub state: JobState,
    /// Classification of the job's input and result.
    pub classification: DataClass,
    /// Who asked for it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// When it started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// 0.0 to 1.0.
    pub progress: f64,
    /// What was asked.
    pub input: Value,
    /// The result, once succeeded (may hold per-item errors).
    pub result: Option<Value>,
    /// The error, once failed.
    pub error: Option<String>,
}

const COLUMNS: &str = "id, kind, state, classification, created_by, created_at, started_at,
    finished_at, progress, input, result, error";

fn row_to_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        state: r.get(2)?,
        classification: sql::parsed(r, 3, "jobs.classification")?,
        created_by: r.get(4)?,
        created_at: r.get(5)?,
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        progress: r.get(8)?,
        input: sql::json(r, 9, "jobs.input")?,
        result: sql::json_opt(r, 10, "jobs.result")?,
        error: r.get(11)?,
    })
}

impl Assistant {
    /// Records a new queued job.
    pub fn create_job(
        &self,
        actor: &Actor,
        kind: JobKind,
        class: DataClass,
        input: Value,
    ) -> Result<Job> {
        let id = format!("job_{}", uuid::Uuid::new_v4().simple());
        self.store.write(actor, |tx| {
            tx.conn().execute(
                "INSERT INTO jobs (id, kind, state, classification, created_by, created_at, input)
                 VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6)",
                params![
                    id,
                    kind,
                    class.to_string(),
                    actor.user,
                    time::fmt(time::now()),
                    input.to_string()
                ],
            )?;
            tx.audit(AuditRecord {
                action: "job.create",
                object_kind: "job",
                object_id: &id,
                class,
                details: json!({"kind": kind, "input": input}),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        self.job_unchecked(&id)
    }

    /// Marks a job running.
    pub fn start_job(&self, id: &str) -> Result<()> {
        self.set_job(
            id,
            JobState::Running,
            "started_at = ?3",
            &[&time::fmt(time::now())],
            "job.start",
            json!({}),
        )
    }

    /// Marks the jobs a previous process left queued or running, and that cannot be resumed,
    /// as failed with the reason (at start-up, before serving). Extraction jobs keep their
    /// files in the database and are resumed instead ([`Assistant::extraction_unfinished`]);
    /// an ingest job's uploaded bytes lived only in the stopped process. Returns the ids.
    pub fn fail_interrupted_jobs(&self) -> Result<Vec<String>> {
        let ids: Vec<String> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id FROM jobs WHERE state IN ('queued', 'running') AND kind != ?1
                 ORDER BY created_at",
            )?;
            let ids = stmt
                .query_map([JobKind::Extraction], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok::<_, AssistantError>(ids)
        })?;
        for id in &ids {
            self.finish_job(
                id,
                Err(
                    "interrupted: the server stopped before this job finished; submit it again"
                        .into(),
                ),
            )?;
        }
        Ok(ids)
    }

    /// Records progress (0.0-1.0). Not audited: progress is not a state change anyone relies on.
    pub fn job_progress(&self, id: &str, progress: f64) -> Result<()> {
        self.store.write(&Actor::system(), |tx| {
            tx.conn().execute(
                "UPDATE jobs SET progress = ?1 WHERE id = ?2",
                params![progress.clamp(0.0, 1.0), id],
            )?;
            Ok(())
        })
    }

    /// Finishes a job with a result or an error.
    pub fn finish_job(&self, id: &str, outcome: std::result::Result<Value, String>) -> Result<()> {
        let now = time::fmt(time::now());
        match outcome {
            Ok(result) => self.set_job(
                id,
                JobState::Succeeded,
                "finished_at = ?3, progress = 1.0, result = ?4",
                &[&now, &result.to_string()],
                "job.succeed",
                json!({}),
            ),
            Err(error) => self.set_job(
                id,
                JobState::Failed,
                "finished_at = ?3, error = ?4",
                &[&now, &error],
                "job.fail",
                json!({"error": error}),
            ),
        }
    }

    /// Sets job `id`'s state and `set` (SQL assignments whose parameters, `args`, are numbered
    /// from `?3`).
    fn set_job(
        &self,
        id: &str,
        state: JobState,
        set: &str,
        args: &[&dyn rusqlite::ToSql],
        action: &str,
        details: Value,
    ) -> Result<()> {
        let job = self.job_unchecked(id)?;
        self.store.write(&Actor::system(), |tx| {
            let mut all: Vec<&dyn rusqlite::ToSql> = vec![&id, &state];
            all.extend_from_slice(args);
            tx.conn().execute(
                &format!("UPDATE jobs SET state = ?2, {set} WHERE id = ?1"),
                all.as_slice(),
            )?;
            tx.audit(AuditRecord {
                action,
                object_kind: "job",
                object_id: id,
                class: job.classification,
                details,
            })?;
            Ok(())
        })
    }

    /// A job whatever the caller (the workflows apply their own access rules).
    pub(crate) fn job_unchecked(&self, id: &str) -> Result<Job> {
        self.store
            .read(|c| {
                c.query_row(
                    &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                    [id],
                    row_to_job,
                )
                .optional()
            })?
            .ok_or_else(|| AssistantError::NotFound {
                kind: "job",
                id: id.into(),
            })
    }

    /// A job, if the caller asked for it (or is an admin, or the system) and is cleared for its
    /// classification; audited when it is important. Anyone else's job is "not found": its
    /// input names files and collections that are not theirs to see.
    pub fn get_job(&self, actor: &Actor, id: &str) -> Result<Job> {
        let job = self.job_unchecked(id)?;
        if !sees_all_jobs(actor) && job.created_by != actor.user
            || !actor.clearance().can_read(job.classification)
        {
            return Err(AssistantError::NotFound {
                kind: "job",
                id: id.into(),
            });
        }
        self.audit_read(actor, "job.read", "job", id, job.classification)?;
        Ok(job)
    }

    /// The caller's own recent jobs (admins see everyone's), newest first.
    pub fn list_jobs(&self, actor: &Actor, limit: u32) -> Result<Vec<Job>> {
        let all = sees_all_jobs(actor);
        let clearance = actor.clearance();
        let jobs = self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE (?1 OR created_by = ?2)
                 ORDER BY created_at DESC LIMIT ?3"
            ))?;
            let rows =
                stmt.query_map(params![all, actor.user, limit.clamp(1, 1000)], row_to_job)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(jobs
            .into_iter()
            .filter(|j| clearance.can_read(j.classification))
            .collect())
    }
}

/// Whether `actor` may see every user's jobs: admins and the system itself.
fn sees_all_jobs(actor: &Actor) -> bool {
    matches!(actor.role, None | Some(policies::Role::Admin))
}

impl Assistant {
    /// The audit entry (its sequence number) that recorded a report of `suite` with this
    /// SHA-256, the latest when several did; `None` when none did.
    pub fn evaluation_recorded(&self, suite: &str, report_sha256: &str) -> Result<Option<u64>> {
        Ok(self
            .store
            .read(|c| {
                c.query_row(
                    "SELECT seq FROM audit_log WHERE action = 'eval.report'
                 AND object_kind = 'evaluation' AND object_id = ?1
                 AND json_extract(details, '$.report_sha256') = ?2
                 ORDER BY seq DESC LIMIT 1",
                    params![suite, report_sha256],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
            })?
            .map(|s| s as u64))
    }

    /// Records an evaluation or validation report in the audit log, signed by the SHA-256 of
    /// its `report.json` (`eval.report`): whoever holds the file can check it is the one the
    /// decision rested on. Returns the audit entry's sequence number.
    pub fn record_evaluation(
        &self,
        actor: &Actor,
        suite: &str,
        passed: bool,
        report_sha256: &str,
        metrics: Value,
    ) -> Result<u64> {
        self.record_validation(actor, suite, passed, report_sha256, metrics, None)
    }

    /// [`Assistant::record_evaluation`] of a chain's validation run with its cases as the
    /// monitoring reads calls (`baseline`: the chain and the cases): when the report passed,
    /// the cases become the chain's drift baseline (`validation_baselines`, audited as
    /// `model.baseline`), in the same transaction.
    pub fn record_validation(
        &self,
        actor: &Actor,
        suite: &str,
        passed: bool,
        report_sha256: &str,
        metrics: Value,
        baseline: Option<(&str, &[crate::model_risk::CallFeatures])>,
    ) -> Result<u64> {
        self.store.write(actor, |tx| {
            let seq = tx.audit(AuditRecord {
                action: "eval.report",
                object_kind: "evaluation",
                object_id: suite,
                class: DataClass::IMPORTANT,
                details: serde_json::json!({
                    "suite": suite, "passed": passed, "report_sha256": report_sha256,
                    "metrics": metrics,
                }),
            })?;
            if let (true, Some((chain, cases))) = (passed, baseline) {
                crate::model_risk::record_baseline(tx, chain, suite, report_sha256, cases)?;
            }
            Ok(seq)
        })
    }
}
