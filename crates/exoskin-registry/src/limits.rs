//! Per-client limits keyed by the peer's IP address: open connections, a request rate
//! (token bucket) and failed bearer-token attempts.
//!
//! A small layer of our own: the maintained rate-limit crates key on the request only and
//! cannot count open connections, which is what a slowloris attack exhausts.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How many clients each table tracks before idle entries are pruned.
const PRUNE_AT: usize = 50_000;

/// The limits of one client; zero disables a limit.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimitConfig {
    /// Open connections one IP address may hold at once.
    pub max_connections: usize,
    /// Requests per second one IP address may make, sustained (token bucket).
    pub requests_per_second: f64,
    /// Bucket size: requests one IP address may make at once after an idle spell.
    pub burst: f64,
    /// Failed bearer tokens one IP address may send per [`AUTH_WINDOW`].
    pub failed_auth_per_window: u32,
}

/// The window over which failed bearer tokens are counted.
pub const AUTH_WINDOW: Duration = Duration::from_secs(60);

impl Default for ClientLimitConfig {
    fn default() -> Self {
        ClientLimitConfig {
            max_connections: 64,
            requests_per_second: 100.0,
            burst: 200.0,
            failed_auth_per_window: 10,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

#[derive(Debug)]
pub struct ClientLimits {
    cfg: ClientLimitConfig,
    conns: Mutex<HashMap<IpAddr, usize>>,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves a consistent map (every update is a
    // single insert or remove), so a poisoned lock is safe to keep using.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Held while a connection is open; releases the client's slot when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    limits: Arc<ClientLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut c = lock(&self.limits.conns);
        if let Some(n) = c.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.remove(&self.ip);
            }
        }
    }
}

impl ClientLimits {
    pub fn new(cfg: ClientLimitConfig) -> Arc<ClientLimits> {
        Arc::new(ClientLimits {
            cfg,
            conns: Mutex::default(),
            buckets: Mutex::default(),
            failures: Mutex::default(),
        })
    }

    /// A slot for a new connection from `ip`, or `None` when it holds its maximum.
    pub fn connect(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let mut c = lock(&self.conns);
        let n = c.entry(ip).or_insert(0);
        if self.cfg.max_connections > 0 && *n >= self.cfg.max_connections {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Open connections of `ip`.
    pub fn connections(&self, ip: IpAddr) -> usize {
        lock(&self.conns).get(&ip).copied().unwrap_or(0)
    }

    /// Take one request from `ip`'s bucket: `Err(wait)` when it is empty.
    pub fn request(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let rate = self.cfg.requests_per_second;
        if rate <= 0.0 {
            return Ok(());
        }
        let burst = self.cfg.burst.max(1.0);
        let mut b = lock(&self.buckets);
        if b.len() > PRUNE_AT {
            // Entries that have refilled completely carry no state.
            b.retain(|_, v| v.tokens + now.duration_since(v.at).as_secs_f64() * rate < burst);
        }
        let e = b.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        e.tokens = (e.tokens + now.duration_since(e.at).as_secs_f64() * rate).min(burst);
        e.at = now;
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - e.tokens) / rate))
        }
    }

    /// `Err(wait)` while `ip` has used up its failed-token attempts. The server asks only
    /// after a token proved wrong: a right token is accepted whatever this says.
    pub fn auth_allowed(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let max = self.cfg.failed_auth_per_window;
        if max == 0 {
            return Ok(());
        }
        let f = lock(&self.failures);
        match f.get(&ip) {
            Some(x) if x.count >= max && now.duration_since(x.since) < AUTH_WINDOW => {
                Err(AUTH_WINDOW - now.duration_since(x.since))
            }
            _ => Ok(()),
        }
    }

    /// Count a failed bearer token from `ip`.
    pub fn auth_failed(&self, ip: IpAddr, now: Instant) {
        let mut f = lock(&self.failures);
        if f.len() > PRUNE_AT {
            f.retain(|_, v| now.duration_since(v.since) < AUTH_WINDOW);
        }
        let e = f.entry(ip).or_insert(Failures {
            count: 0,
            since: now,
        });
        if now.duration_since(e.since) >= AUTH_WINDOW {
            *e = Failures {
                count: 0,
                since: now,
            };
        }
        e.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn connection_slots_are_counted_per_client_and_released_on_drop() {
        let l = ClientLimits::new(ClientLimitConfig {
            max_connections: 2,
            ..Default::default()
        });
        let a = l.connect(ip(1)).unwrap();
        let _b = l.connect(ip(1)).unwrap();
        assert!(l.connect(ip(1)).is_none());
        let _other = l.connect(ip(2)).unwrap();
        drop(a);
        assert_eq!(l.connections(ip(1)), 1);
        assert!(l.connect(ip(1)).is_some());
    }

    #[test]
    fn token_bucket_allows_the_burst_then_the_rate() {
        let l = ClientLimits::new(ClientLimitConfig {
            requests_per_second: 10.0,
            burst: 5.0,
            ..Default::default()
        });
        let t = Instant::now();
        for _ in 0..5 {
            assert!(l.request(ip(1), t).is_ok());
        }
        let wait = l.request(ip(1), t).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        // After 0.1 s one token is back: exactly one request passes.
        let t1 = t + Duration::from_millis(100);
        assert!(l.request(ip(1), t1).is_ok());
        assert!(l.request(ip(1), t1).is_err());
        assert!(l.request(ip(2), t1).is_ok());
    }

    #[test]
    fn failed_tokens_block_for_the_rest_of_the_window() {
        let l = ClientLimits::new(ClientLimitConfig {
            failed_auth_per_window: 3,
            ..Default::default()
        });
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.auth_allowed(ip(1), t).is_ok());
            l.auth_failed(ip(1), t);
        }
        let wait = l
            .auth_allowed(ip(1), t + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(l.auth_allowed(ip(2), t).is_ok());
        assert!(l.auth_allowed(ip(1), t + AUTH_WINDOW).is_ok());
    }
}
