//! The job queue: every CPU-heavy request (a simulation answered directly as well as a trial
//! or power job answered with `202`) takes one of `max_jobs` slots or is refused with 429,
//! and runs on tokio's blocking pool with at most `workers` running at once. Direct runs
//! (answered in the request) have `workers` threads of their own, so they never wait
//! behind a long trial or power job.
//!
//! Cancelling sets a flag that the job's progress callbacks check; a cancelled job unwinds
//! out of the model code from there with [`std::panic::resume_unwind`] (which runs no panic
//! hook and prints nothing) and the worker catches it, so the model crates need no
//! cancellation plumbing of their own.

use exoskin_api::ApiError;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{watch, Semaphore};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl Status {
    pub fn finished(self) -> bool {
        matches!(self, Status::Done | Status::Failed | Status::Cancelled)
    }
}

/// A bad-input error as the API reports it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The input field at fault, where known.
    pub field: Option<String>,
    /// What is wrong and how to fix it (the CLI's message).
    pub message: String,
}

impl From<ApiError> for ErrorBody {
    fn from(e: ApiError) -> ErrorBody {
        match e {
            ApiError::BadInput { field, message } => ErrorBody { field, message },
            e @ ApiError::Stopped(_) => ErrorBody {
                field: None,
                message: e.to_string(),
            },
        }
    }
}

/// A job's state, as `GET /api/v1/jobs/{id}` and its events report it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    /// `simulate`, `trial`, `power`, `claims`, `ocr` or `qr`.
    pub kind: String,
    pub status: Status,
    /// Units of work done (participants for a trial, sample sizes for power, claims for
    /// claims).
    pub done: usize,
    /// Units of work in all, where known (0: unknown).
    pub total: usize,
    /// The latest progress message.
    pub message: String,
    /// The document, once done (the CLI's `--json` output).
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// Why it failed.
    pub error: Option<ErrorBody>,
}

pub struct Job {
    pub id: String,
    cancel: AtomicBool,
    state: watch::Sender<JobView>,
}

impl Job {
    pub fn view(&self) -> JobView {
        self.state.borrow().clone()
    }
    pub fn subscribe(&self) -> watch::Receiver<JobView> {
        self.state.subscribe()
    }
    /// Ask the job to stop; it stops at its next progress report (or before it starts).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        self.state.send_if_modified(|s| {
            if s.status == Status::Queued {
                s.status = Status::Cancelled;
                s.message = "cancelled".into();
                true
            } else {
                false
            }
        });
    }
    fn update(&self, f: impl FnOnce(&mut JobView)) {
        self.state.send_modify(f);
    }
}

/// The unwinding payload of a cancelled job.
struct Cancelled;

/// What a running job reports through; every report checks the cancel flag.
pub struct Progress {
    job: Arc<Job>,
}

impl Progress {
    fn check(&self) {
        if self.job.cancel.load(Ordering::SeqCst) {
            std::panic::resume_unwind(Box::new(Cancelled));
        }
    }
    /// `done` of `total` units finished.
    pub fn set(&self, done: usize, total: usize) {
        self.check();
        self.job.update(|s| {
            s.done = done;
            s.total = total;
        });
    }
    /// A phase or intermediate result.
    pub fn message(&self, m: &str) {
        self.check();
        self.job.update(|s| s.message = m.to_string());
    }
}

/// The queue is full.
#[derive(Debug)]
pub struct Busy {
    pub limit: usize,
}

pub struct Jobs {
    limit: usize,
    slots: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    quick: Arc<Semaphore>,
    table: Mutex<Table>,
    keep_finished: usize,
}

#[derive(Default)]
struct Table {
    jobs: HashMap<String, Arc<Job>>,
    finished: VecDeque<String>,
}

fn lock(m: &Mutex<Table>) -> MutexGuard<'_, Table> {
    // Every update is one insert or removal: a poisoned table is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub type Work = Box<dyn FnOnce(&Progress) -> Result<Value, ApiError> + Send + 'static>;

impl Jobs {
    pub fn new(max_jobs: usize, workers: usize, keep_finished: usize) -> Jobs {
        Jobs {
            limit: max_jobs.max(1),
            slots: Arc::new(Semaphore::new(max_jobs.max(1))),
            workers: Arc::new(Semaphore::new(workers.max(1))),
            quick: Arc::new(Semaphore::new(workers.max(1))),
            table: Mutex::new(Table::default()),
            keep_finished,
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        lock(&self.table).jobs.get(id).cloned()
    }

    /// Jobs queued or running now.
    pub fn active(&self) -> usize {
        self.limit - self.slots.available_permits()
    }

    /// Queue `work`; `Err(Busy)` when `max_jobs` are queued or running. Must be called
    /// inside the tokio runtime.
    pub fn submit(self: &Arc<Self>, kind: &str, work: Work) -> Result<Arc<Job>, Busy> {
        self.submit_to(self.workers.clone(), kind, work)
    }

    fn submit_to(
        self: &Arc<Self>,
        pool: Arc<Semaphore>,
        kind: &str,
        work: Work,
    ) -> Result<Arc<Job>, Busy> {
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy { limit: self.limit })?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (tx, _) = watch::channel(JobView {
            id: id.clone(),
            kind: kind.to_string(),
            status: Status::Queued,
            done: 0,
            total: 0,
            message: "queued".into(),
            result: None,
            error: None,
        });
        let job = Arc::new(Job {
            id: id.clone(),
            cancel: AtomicBool::new(false),
            state: tx,
        });
        lock(&self.table).jobs.insert(id, job.clone());
        let me = self.clone();
        let j = job.clone();
        tokio::spawn(async move {
            let _slot = permit;
            let Ok(_worker) = pool.acquire_owned().await else {
                return;
            };
            if j.cancel.load(Ordering::SeqCst) {
                j.update(|s| s.status = Status::Cancelled);
                me.finish(&j.id);
                return;
            }
            j.update(|s| {
                s.status = Status::Running;
                s.message = "running".into();
            });
            let jj = j.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let p = Progress { job: jj };
                std::panic::catch_unwind(AssertUnwindSafe(|| work(&p)))
            })
            .await;
            j.update(|s| match outcome {
                Ok(Ok(Ok(v))) => {
                    s.status = Status::Done;
                    s.message = "done".into();
                    s.result = Some(v);
                }
                Ok(Ok(Err(e))) => {
                    s.status = Status::Failed;
                    s.message = "failed".into();
                    s.error = Some(e.into());
                }
                Ok(Err(payload)) if payload.is::<Cancelled>() => {
                    s.status = Status::Cancelled;
                    s.message = "cancelled".into();
                }
                _ => {
                    s.status = Status::Failed;
                    s.message = "failed".into();
                    s.error = Some(ErrorBody {
                        field: None,
                        message: "internal error while running the job".into(),
                    });
                }
            });
            me.finish(&j.id);
        });
        Ok(job)
    }

    /// Run `work` through the queue and wait for its answer.
    pub async fn run(self: &Arc<Self>, kind: &str, work: Work) -> Result<JobView, Busy> {
        let job = self.submit_to(self.quick.clone(), kind, work)?;
        let mut rx = job.subscribe();
        let _ = rx.wait_for(|s| s.status.finished()).await;
        let v = job.view();
        lock(&self.table).jobs.remove(&job.id);
        Ok(v)
    }

    fn finish(&self, id: &str) {
        let mut t = lock(&self.table);
        t.finished.push_back(id.to_string());
        while t.finished.len() > self.keep_finished {
            if let Some(old) = t.finished.pop_front() {
                t.jobs.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_queue_refuses_past_its_limit_and_frees_slots_when_jobs_end() {
        rt().block_on(async {
            let jobs = Arc::new(Jobs::new(2, 1, 10));
            let (tx, rx) = mpsc::channel::<()>();
            let rx = Arc::new(Mutex::new(rx));
            let mut held = Vec::new();
            for _ in 0..2 {
                let rx = rx.clone();
                held.push(
                    jobs.submit(
                        "t",
                        Box::new(move |_| {
                            let _ = rx.lock().unwrap().recv();
                            Ok(Value::Null)
                        }),
                    )
                    .unwrap(),
                );
            }
            assert_eq!(jobs.active(), 2);
            let refused = jobs.submit("t", Box::new(|_| Ok(Value::Null)));
            assert_eq!(refused.err().map(|b| b.limit), Some(2));
            // One worker: the second job waits in the queue.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let states: Vec<Status> = held.iter().map(|j| j.view().status).collect();
            assert_eq!(
                states.iter().filter(|s| **s == Status::Running).count(),
                1,
                "{states:?}"
            );
            assert_eq!(states.iter().filter(|s| **s == Status::Queued).count(), 1);
            tx.send(()).unwrap();
            tx.send(()).unwrap();
            for j in &held {
                let _ = j.subscribe().wait_for(|s| s.status.finished()).await;
                assert_eq!(j.view().status, Status::Done);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            assert_eq!(jobs.active(), 0);
            assert!(jobs.submit("t", Box::new(|_| Ok(Value::Null))).is_ok());
        });
    }

    #[test]
    fn cancel_stops_a_running_job_at_its_next_progress_report() {
        rt().block_on(async {
            let jobs = Arc::new(Jobs::new(4, 2, 10));
            let reports = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let r = reports.clone();
            let job = jobs
                .submit(
                    "t",
                    Box::new(move |p| {
                        for i in 0..10_000 {
                            p.set(i, 10_000);
                            r.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                        Ok(Value::Null)
                    }),
                )
                .unwrap();
            let _ = job.subscribe().wait_for(|s| s.done > 3).await;
            job.cancel();
            let _ = job.subscribe().wait_for(|s| s.status.finished()).await;
            let v = job.view();
            assert_eq!(v.status, Status::Cancelled);
            assert!(v.result.is_none());
            let at_cancel = reports.load(Ordering::SeqCst);
            assert!(at_cancel < 10_000, "{at_cancel}");
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            assert_eq!(
                reports.load(Ordering::SeqCst),
                at_cancel,
                "work went on after cancel"
            );
        });
    }

    #[test]
    fn a_failed_job_reports_the_field_and_message() {
        rt().block_on(async {
            let jobs = Arc::new(Jobs::new(4, 2, 10));
            let v = jobs
                .run(
                    "t",
                    Box::new(|_| {
                        Err(ApiError::BadInput {
                            field: Some("skin.age_years".into()),
                            message: "age out of range".into(),
                        })
                    }),
                )
                .await
                .unwrap();
            assert_eq!(v.status, Status::Failed);
            let e = v.error.unwrap();
            assert_eq!(e.field.as_deref(), Some("skin.age_years"));
            assert_eq!(e.message, "age out of range");
        });
    }
}
