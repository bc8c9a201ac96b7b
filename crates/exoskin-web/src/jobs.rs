//! The job queue: every CPU-heavy request (a simulation answered directly as well as a trial
//! or power job answered with `202`) takes one of `max_jobs` slots or is refused with 429,
//! and runs on tokio's blocking pool with at most `workers` running at once. Direct runs
//! (answered in the request) have `workers` threads of their own, so they never wait
//! behind a long trial or power job.
//!
//! Limits:
//! - one client address (an IPv4 address, or an IPv6 /64) may hold at most `per_client`
//!   slots, queued and running together, so one client cannot fill the queue;
//! - every job has a time limit (`job_timeout`, from when it starts running) and every
//!   direct run one of its own (`direct_timeout`, from when it is submitted); a direct run
//!   whose request goes away (the client hung up, or the server's request timeout fired)
//!   is cancelled.
//!
//! Stopping is checked inside the work through the job's [`Stop`] (its cancel flag and its
//! deadline): a job's [`Progress`] is the work's [`Observer`], so the transport solvers
//! check the stop at every step and the analyses at every progress report, and a stopped
//! job returns [`ApiError::Stopped`] like any other error. A job's slot is freed only when
//! its work has ended, so a stopped job frees its slot as soon as its work sees the stop.
//! A defect that panics in the work is reported as an internal error (tokio's blocking
//! pool catches it) and frees the slot too.

use exoskin_api::{ApiError, ErrorKind};
use exoskin_model::{Observer, Stop, Stopped};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
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

/// An error as the API reports it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The input field at fault, where known.
    pub field: Option<String>,
    /// What is wrong and how to fix it (the CLI's message).
    pub message: String,
    /// input (fix the request), solver (the solver could not finish valid input), internal
    /// or cancelled ([`exoskin_api::ErrorKind`]).
    #[schema(value_type = String)]
    #[serde(serialize_with = "kind_name")]
    pub kind: ErrorKind,
}

fn kind_name<S: serde::Serializer>(k: &ErrorKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

impl ErrorBody {
    /// An error of `kind` without a field.
    pub fn of(kind: ErrorKind, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            field: None,
            message: message.into(),
            kind,
        }
    }
}

impl From<ApiError> for ErrorBody {
    fn from(e: ApiError) -> ErrorBody {
        // The queue reports its own stops (with the limit and how to stay under it); a stop
        // met elsewhere, a solver failure and an internal error keep their kinds.
        let kind = e.kind();
        match e {
            ApiError::BadInput { field, message } => ErrorBody {
                field,
                message,
                kind,
            },
            e => ErrorBody::of(kind, e.to_string()),
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
    /// The time limit (seconds) the job ran past, when that is why it failed; direct runs
    /// answer 408 from it.
    #[serde(skip)]
    pub timed_out: Option<f64>,
}

pub struct Job {
    pub id: String,
    cancel: Arc<AtomicBool>,
    state: watch::Sender<JobView>,
}

impl Job {
    pub fn view(&self) -> JobView {
        self.state.borrow().clone()
    }
    pub fn subscribe(&self) -> watch::Receiver<JobView> {
        self.state.subscribe()
    }
    /// Ask the job to stop; it stops at its next check (or before it starts).
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

/// What a running job reports through: the work's [`Observer`], whose reports update the
/// job's view (and so its event stream) and whose stop is the job's (its cancel flag and
/// deadline).
pub struct Progress {
    job: Arc<Job>,
    stop: Stop,
}

impl Observer for Progress {
    fn stop(&self) -> &Stop {
        &self.stop
    }
    fn on_progress(&self, done: usize, total: usize) {
        self.job.update(|s| {
            s.done = done;
            s.total = total;
        });
    }
    fn on_message(&self, text: &str) {
        self.job.update(|s| s.message = text.to_string());
    }
}

impl Progress {
    /// Whether the job was cancelled or has run past its time limit (for work that polls,
    /// such as the OCR and QR decoders).
    pub fn stopped(&self) -> bool {
        self.stop.is_stopped()
    }
}

/// Why a job was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// `limit` jobs are queued or running, all clients together.
    Full { limit: usize },
    /// The client's address already holds `limit` jobs, queued or running.
    Client { limit: usize },
}

impl Busy {
    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            Busy::Full { limit } => format!(
                "the server is running its limit of {limit} jobs; try again in a few seconds"
            ),
            Busy::Client { limit } => format!(
                "your address already has {limit} jobs queued or running, the most one client may have; wait for one to finish, or cancel one (DELETE /api/v1/jobs/{{id}})"
            ),
        }
    }
}

/// The queue's limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Jobs queued or running at once, direct runs included.
    pub max_jobs: usize,
    /// Jobs running at once; direct runs have as many threads again.
    pub workers: usize,
    /// Finished jobs kept for `get`.
    pub keep_finished: usize,
    /// Jobs one client address may have queued or running (0: no limit).
    pub per_client: usize,
    /// A job's time limit, from when it starts running.
    pub job_timeout: Duration,
    /// A direct run's time limit, from when it is submitted.
    pub direct_timeout: Duration,
}

impl Limits {
    /// `max_jobs`, `workers` and `keep_finished`, with no client quota and time limits of
    /// an hour.
    pub fn new(max_jobs: usize, workers: usize, keep_finished: usize) -> Limits {
        Limits {
            max_jobs,
            workers,
            keep_finished,
            per_client: 0,
            job_timeout: Duration::from_secs(3600),
            direct_timeout: Duration::from_secs(3600),
        }
    }
}

type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One of a client's slots, given back on drop.
struct ClientSlot {
    counts: Counts,
    key: Option<IpAddr>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some(k) = self.key else { return };
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = c.get_mut(&k) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.remove(&k);
            }
        }
    }
}

/// The address a client's quota is kept under: its IPv4 address (an IPv4-mapped IPv6
/// address counts as IPv4), or the /64 of its IPv6 address (one host's addresses).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Cancels a direct run whose request went away before it finished.
struct CancelOnDrop(Arc<Job>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.0.view().status.finished() {
            self.0.cancel();
        }
    }
}

pub struct Jobs {
    limits: Limits,
    slots: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    quick: Arc<Semaphore>,
    clients: Counts,
    table: Mutex<Table>,
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

/// How a job's time limit is counted.
enum Clock {
    /// From when it starts running (queued jobs).
    Running(Duration),
    /// From when it was submitted (direct runs).
    Submitted(Duration),
}

/// What the client is told when a job ran past its time limit.
fn timeout_message(kind: &str, limit_s: f64, direct: bool) -> String {
    let what = match kind {
        "simulate" => "the simulation",
        "trial" => "the trial",
        "power" => "the power calculation",
        "claims" => "the claims check",
        "ocr" => "reading the photo",
        "qr" => "decoding the QR code",
        _ => "the job",
    };
    let fix = match kind {
        "simulate" => "shorten it (experiment.duration_h, regimen.days) or coarsen it, or run it with the CLI (`exoskin simulate`)",
        "trial" => "use fewer participants, or run it with the CLI (`exoskin trial`)",
        "power" => "use fewer replicates or a lower max_participants, or run it with the CLI (`exoskin power`)",
        "claims" => "use fewer draws, or run it with the CLI (`exoskin claims`)",
        _ => "send a smaller input",
    };
    let limit = if direct {
        "the time limit of a request"
    } else {
        "the server's job time limit"
    };
    format!("{what} ran past {limit} ({limit_s:.0} s) and was stopped; {fix}")
}

/// A job's state once its work stopped early.
fn stopped(s: &mut JobView, why: Stopped, kind: &str, direct: bool) {
    match why {
        Stopped::Deadline { limit_s } => {
            s.status = Status::Failed;
            s.message = "timed out".into();
            s.timed_out = Some(limit_s);
            s.error = Some(ErrorBody::of(
                ErrorKind::Cancelled,
                timeout_message(kind, limit_s, direct),
            ));
        }
        Stopped::Cancelled => {
            s.status = Status::Cancelled;
            s.message = "cancelled".into();
        }
    }
}

impl Jobs {
    pub fn new(limits: Limits) -> Jobs {
        let max = limits.max_jobs.max(1);
        let workers = limits.workers.max(1);
        Jobs {
            slots: Arc::new(Semaphore::new(max)),
            workers: Arc::new(Semaphore::new(workers)),
            quick: Arc::new(Semaphore::new(workers)),
            clients: Arc::default(),
            table: Mutex::new(Table::default()),
            limits: Limits {
                max_jobs: max,
                workers,
                ..limits
            },
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        lock(&self.table).jobs.get(id).cloned()
    }

    /// Jobs queued or running now.
    pub fn active(&self) -> usize {
        self.limits.max_jobs - self.slots.available_permits()
    }

    /// Jobs queued or running now for the client at `ip`.
    pub fn active_for(&self, ip: IpAddr) -> usize {
        let c = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        c.get(&client_key(ip)).copied().unwrap_or(0)
    }

    /// Queue `work` for `client` (its address, where known); `Err(Busy)` when `max_jobs`
    /// are queued or running, or the client has its quota. Must be called inside the tokio
    /// runtime.
    pub fn submit(
        self: &Arc<Self>,
        kind: &str,
        client: Option<IpAddr>,
        work: Work,
    ) -> Result<Arc<Job>, Busy> {
        let clock = Clock::Running(self.limits.job_timeout);
        self.submit_to(self.workers.clone(), kind, client, clock, work)
    }

    fn take_client_slot(&self, client: Option<IpAddr>) -> Result<ClientSlot, Busy> {
        let key = client.map(client_key);
        let quota = self.limits.per_client;
        if let (Some(k), true) = (key, quota > 0) {
            let mut c = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            let n = c.entry(k).or_insert(0);
            if *n >= quota {
                return Err(Busy::Client { limit: quota });
            }
            *n += 1;
            return Ok(ClientSlot {
                counts: self.clients.clone(),
                key: Some(k),
            });
        }
        Ok(ClientSlot {
            counts: self.clients.clone(),
            key: None,
        })
    }

    fn submit_to(
        self: &Arc<Self>,
        pool: Arc<Semaphore>,
        kind: &str,
        client: Option<IpAddr>,
        clock: Clock,
        work: Work,
    ) -> Result<Arc<Job>, Busy> {
        let client_slot = self.take_client_slot(client)?;
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy::Full {
                limit: self.limits.max_jobs,
            })?;
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
            timed_out: None,
        });
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Arc::new(Job {
            id: id.clone(),
            cancel: cancel.clone(),
            state: tx,
        });
        // A direct run's clock starts now; a job's when it starts running.
        let submitted = match clock {
            Clock::Submitted(limit) => Some(Stop::after(limit).with_flag(cancel.clone())),
            Clock::Running(_) => None,
        };
        lock(&self.table).jobs.insert(id, job.clone());
        let me = self.clone();
        let j = job.clone();
        let kind = kind.to_string();
        tokio::spawn(async move {
            // Both slots are held until the work has ended, and given back before its end is
            // reported, so whoever sees the end can use them.
            let slots = (permit, client_slot);
            let Ok(worker) = pool.acquire_owned().await else {
                return;
            };
            let direct = submitted.is_some();
            let stop = match (submitted, clock) {
                (Some(s), _) => s,
                (None, Clock::Running(limit)) | (None, Clock::Submitted(limit)) => {
                    Stop::after(limit).with_flag(cancel)
                }
            };
            let p = Progress {
                job: j.clone(),
                stop,
            };
            let outcome = match p.stop.check() {
                Err(why) => Ok(Err(ApiError::Stopped(why))),
                Ok(()) => {
                    j.update(|s| {
                        s.status = Status::Running;
                        s.message = "running".into();
                    });
                    // A panic (a defect) comes back as the join's error.
                    tokio::task::spawn_blocking(move || work(&p)).await
                }
            };
            drop((slots, worker));
            j.update(|s| match outcome {
                Ok(Ok(v)) => {
                    s.status = Status::Done;
                    s.message = "done".into();
                    s.result = Some(v);
                }
                Ok(Err(ApiError::Stopped(why))) => stopped(s, why, &kind, direct),
                Ok(Err(e)) => {
                    s.status = Status::Failed;
                    s.message = "failed".into();
                    s.error = Some(e.into());
                }
                Err(_) => {
                    s.status = Status::Failed;
                    s.message = "failed".into();
                    s.error = Some(ErrorBody::of(
                        ErrorKind::Internal,
                        "internal error while running the job",
                    ));
                }
            });
            me.finish(&j.id);
        });
        Ok(job)
    }

    /// Run `work` for `client` through the queue and wait for its answer. The run has the
    /// direct-run time limit from now, and is cancelled if this future is dropped (the
    /// request went away).
    pub async fn run(
        self: &Arc<Self>,
        kind: &str,
        client: Option<IpAddr>,
        work: Work,
    ) -> Result<JobView, Busy> {
        let clock = Clock::Submitted(self.limits.direct_timeout);
        let job = self.submit_to(self.quick.clone(), kind, client, clock, work)?;
        let _cancel = CancelOnDrop(job.clone());
        let mut rx = job.subscribe();
        let _ = rx.wait_for(|s| s.status.finished()).await;
        let v = job.view();
        lock(&self.table).jobs.remove(&job.id);
        Ok(v)
    }

    fn finish(&self, id: &str) {
        let mut t = lock(&self.table);
        t.finished.push_back(id.to_string());
        while t.finished.len() > self.limits.keep_finished {
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
            let jobs = Arc::new(Jobs::new(Limits::new(2, 1, 10)));
            let (tx, rx) = mpsc::channel::<()>();
            let rx = Arc::new(Mutex::new(rx));
            let mut held = Vec::new();
            for _ in 0..2 {
                let rx = rx.clone();
                held.push(
                    jobs.submit(
                        "t",
                        None,
                        Box::new(move |_| {
                            let _ = rx.lock().unwrap().recv();
                            Ok(Value::Null)
                        }),
                    )
                    .unwrap(),
                );
            }
            assert_eq!(jobs.active(), 2);
            let refused = jobs.submit("t", None, Box::new(|_| Ok(Value::Null)));
            assert_eq!(refused.err(), Some(Busy::Full { limit: 2 }));
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
            assert!(jobs
                .submit("t", None, Box::new(|_| Ok(Value::Null)))
                .is_ok());
        });
    }

    #[test]
    fn cancel_stops_a_running_job_at_its_next_progress_report() {
        rt().block_on(async {
            let jobs = Arc::new(Jobs::new(Limits::new(4, 2, 10)));
            let reports = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let r = reports.clone();
            let job = jobs
                .submit(
                    "t",
                    None,
                    Box::new(move |p| {
                        for i in 0..10_000 {
                            p.progress(i, 10_000)?;
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
            let jobs = Arc::new(Jobs::new(Limits::new(4, 2, 10)));
            let v = jobs
                .run(
                    "t",
                    None,
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

    #[test]
    fn one_client_holds_at_most_its_quota_and_others_still_get_slots() {
        rt().block_on(async {
            let mut limits = Limits::new(8, 2, 10);
            limits.per_client = 2;
            let jobs = Arc::new(Jobs::new(limits));
            let a: IpAddr = "127.0.0.2".parse().unwrap();
            let b: IpAddr = "127.0.0.1".parse().unwrap();
            let (tx, rx) = mpsc::channel::<()>();
            let rx = Arc::new(Mutex::new(rx));
            let wait = |rx: Arc<Mutex<mpsc::Receiver<()>>>| -> Work {
                Box::new(move |_| {
                    let _ = rx.lock().unwrap().recv();
                    Ok(Value::Null)
                })
            };
            let held: Vec<_> = (0..2)
                .map(|_| jobs.submit("t", Some(a), wait(rx.clone())).unwrap())
                .collect();
            assert_eq!(
                jobs.submit("t", Some(a), wait(rx.clone())).err(),
                Some(Busy::Client { limit: 2 })
            );
            // An IPv6 client's /64 is one client.
            let v6a: IpAddr = "2001:db8::1".parse().unwrap();
            let v6b: IpAddr = "2001:db8::2".parse().unwrap();
            assert_eq!(client_key(v6a), client_key(v6b));
            assert_eq!(jobs.active_for(a), 2);
            let v = jobs.run("t", Some(b), Box::new(|_| Ok(Value::Null))).await;
            assert_eq!(v.unwrap().status, Status::Done);
            tx.send(()).unwrap();
            tx.send(()).unwrap();
            for j in &held {
                let _ = j.subscribe().wait_for(|s| s.status.finished()).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            assert_eq!(jobs.active_for(a), 0);
            assert!(jobs
                .submit("t", Some(a), Box::new(|_| Ok(Value::Null)))
                .is_ok());
        });
    }

    #[test]
    fn a_job_that_reports_progress_stops_at_its_time_limit() {
        rt().block_on(async {
            let mut limits = Limits::new(4, 2, 10);
            limits.job_timeout = std::time::Duration::from_millis(200);
            let jobs = Arc::new(Jobs::new(limits));
            let started = std::time::Instant::now();
            let job = jobs
                .submit(
                    "power",
                    None,
                    Box::new(|p| {
                        for i in 0..100_000 {
                            p.progress(i, 100_000)?;
                            std::thread::sleep(std::time::Duration::from_millis(1));
                        }
                        Ok(Value::Null)
                    }),
                )
                .unwrap();
            let _ = job.subscribe().wait_for(|s| s.status.finished()).await;
            let v = job.view();
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
            assert_eq!(v.status, Status::Failed);
            assert_eq!(v.timed_out, Some(0.2));
            let m = v.error.unwrap().message;
            assert!(
                m.contains("job time limit") && m.contains("replicates"),
                "{m}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            assert_eq!(jobs.active(), 0);
        });
    }

    #[test]
    fn a_direct_run_is_cancelled_when_its_request_goes_away() {
        rt().block_on(async {
            let jobs = Arc::new(Jobs::new(Limits::new(1, 1, 10)));
            let stopped = Arc::new(AtomicBool::new(false));
            let s = stopped.clone();
            let gave_up = tokio::time::timeout(
                std::time::Duration::from_millis(100),
                jobs.run(
                    "t",
                    None,
                    Box::new(move |p| {
                        while !p.stopped() {
                            std::thread::sleep(std::time::Duration::from_millis(1));
                        }
                        s.store(true, Ordering::SeqCst);
                        p.stop().check()?;
                        Ok(Value::Null)
                    }),
                ),
            )
            .await;
            assert!(gave_up.is_err());
            for _ in 0..200 {
                if jobs.active() == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            assert!(stopped.load(Ordering::SeqCst));
            assert_eq!(jobs.active(), 0);
        });
    }
}
