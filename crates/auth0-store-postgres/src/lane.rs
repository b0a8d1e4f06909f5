//! The read lane: connections of the backend's own for `load`, the query every request
//! with a session runs.
//!
//! Why not the pool: sqlx's pool pings a connection when it goes back (always) and, by
//! default, again before handing it out, so one `SELECT` through the pool costs two or three
//! round trips of server and client work (docs/benchmarks.md measured 2.65× a prepared
//! `SELECT`). The lane keeps idle connections in a stack and checks nothing on the way in or
//! out; what the pings guard against it handles itself:
//!
//! - **Cancellation.** A connection goes back only after its query has run to the end. A
//!   `load` whose future is dropped half-way (its timeout fired, the request was cancelled)
//!   drops the connection with it, closing it, so no half-read reply is ever seen by the next
//!   query. PostgreSQL does not notice a closed client while the query waits (on a lock, say),
//!   so each connection is opened with `statement_timeout` set to the operation's timeout
//!   plus a second: the server ends such a query itself, finds the client gone and ends the session, so
//!   connections cut off this way do not pile up on the server.
//! - **Dead connections.** After a server restart the idle connections are closed at the
//!   other end. A query that fails on a reused connection with a connection error (I/O, TLS,
//!   protocol, SQLSTATE class 08, or the server shutting the session down: 57P01–57P03)
//!   closes every idle connection and runs once more on a new one (`load` only reads, so
//!   running it twice is harmless). Any other error (a statement timeout, a missing table)
//!   is returned as it is, and only that connection is closed.
//! - **Limits.** At most `max` connections are open (opened on demand); waiting for one and
//!   opening it are bounded by the pool's `acquire_timeout`, and, as the pool does, opening
//!   is retried while the server refuses connections or is starting up; connections older
//!   than the pool's `max_lifetime` or idle longer than its `idle_timeout` are closed
//!   instead of reused, and a reaper task closes them when nothing else comes along.
//!
//! Connections are opened with the pool's connect options (so URL, TLS and credentials are
//! the pool's), but the pool's `after_connect` and `before_acquire` hooks do not run for
//! them: the backend's statements name their schema and need no session setup.

use std::fmt;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How much longer than the operation's timeout the server lets a read connection's
/// statement run before ending it.
const STATEMENT_TIMEOUT_MARGIN: Duration = Duration::from_secs(1);

/// What the read lane holds, as [`PostgresBackend::read_connections`](crate::PostgresBackend::read_connections) reports it.
///
/// ```
/// use auth0_store_postgres::ReadConnections;
/// let now = ReadConnections::default();
/// assert_eq!((now.open, now.idle, now.max), (0, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadConnections {
    /// Connections open now: idle ones and ones running a query.
    pub open: usize,
    /// Idle connections, waiting for the next `load`.
    pub idle: usize,
    /// The most that may be open at once (0: `load` goes through the pool).
    pub max: usize,
}

/// An idle connection and its ages.
struct Idle {
    conn: PgConnection,
    opened: Instant,
    since: Instant,
}

/// The idle stack and the count of open connections, changed together under one lock.
#[derive(Default)]
struct Held {
    idle: Vec<Idle>,
    open: usize,
}

/// The lane: a stack of idle connections, and a permit for each query running.
pub(crate) struct ReadLane {
    pool: PgPool,
    held: Mutex<Held>,
    permits: Semaphore,
    max: usize,
    /// Starts the reaper once, at the first `load` (inside the runtime).
    reaper: Once,
}

impl fmt::Debug for ReadLane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the pool: its connect options hold the password.
        f.debug_struct("ReadLane")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// A connection taken from the lane. Dropped without [`Self::release`], it is closed.
struct Taken<'a> {
    lane: &'a ReadLane,
    conn: Option<PgConnection>,
    opened: Instant,
    reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl Taken<'_> {
    /// Puts the connection back on the stack, or closes it when it is past the pool's
    /// `max_lifetime`, the pool is closed, or more are open than the lane allows (a retry
    /// may open one while another task puts one back).
    fn release(mut self) {
        let Some(conn) = self.conn.take() else { return };
        let lane = self.lane;
        let too_old = lane
            .pool
            .options()
            .get_max_lifetime()
            .is_some_and(|max| self.opened.elapsed() >= max);
        let mut held = lane.lock();
        let closed = lane.pool.is_closed() || lane.permits.is_closed();
        if too_old || closed || held.open > lane.max {
            held.open -= 1;
            drop(held);
            drop(conn);
        } else {
            held.idle.push(Idle {
                conn,
                opened: self.opened,
                since: Instant::now(),
            });
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Not released: the query was cancelled or failed. Closing it is the only way to
            // be sure the next query does not read the rest of this one's reply.
            self.lane.lock().open -= 1;
            drop(conn);
        }
    }
}

impl ReadLane {
    /// A lane of at most `max` connections opened like `pool`'s (`max` is capped at what a
    /// semaphore can count, far beyond any server's connection limit).
    pub(crate) fn new(pool: PgPool, max: usize) -> Self {
        let max = max.min(Semaphore::MAX_PERMITS);
        Self {
            pool,
            held: Mutex::new(Held::default()),
            permits: Semaphore::new(max),
            max,
            reaper: Once::new(),
        }
    }

    /// The most connections that may be open at once.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// What the lane holds now.
    pub(crate) fn stats(&self) -> ReadConnections {
        let held = self.lock();
        ReadConnections {
            open: held.open,
            idle: held.idle.len(),
            max: self.max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // Every change under this lock is whole (a push, a pop, a count), so a panic
        // elsewhere while it was held leaves nothing half-changed: a poisoned lock is usable.
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes every idle connection politely (a `Terminate` message, then the socket), for
    /// a shutdown; connections running a query close when their query ends.
    pub(crate) async fn close_idle(&self) {
        // Nobody gets a permit any more: a `load` waiting for one fails, none opens anything.
        self.permits.close();
        for idle in self.take_idle(|_| true) {
            // A connection that cannot say goodbye is closed all the same.
            let _ = idle.conn.close().await;
        }
    }

    /// Closes every idle connection.
    fn forget_idle(&self) {
        // Dropped here, after the lock is let go.
        drop(self.take_idle(|_| true));
    }

    /// Takes the idle connections `which` picks off the stack (no longer counted as open);
    /// the caller closes them, outside the lock.
    fn take_idle(&self, which: impl Fn(&Idle) -> bool) -> Vec<Idle> {
        let mut held = self.lock();
        let (taken, keep): (Vec<Idle>, Vec<Idle>) = std::mem::take(&mut held.idle)
            .into_iter()
            .partition(|c| which(c));
        held.idle = keep;
        held.open -= taken.len();
        taken
    }

    /// Runs `sql` with `id` as its one parameter and returns the row, if any. `limit` is the
    /// caller's timeout for the whole operation: new connections get it as their
    /// `statement_timeout`.
    pub(crate) async fn fetch_optional(
        self: &Arc<Self>,
        sql: &Arc<str>,
        id: &str,
        limit: Duration,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        self.start_reaper();
        let mut taken = self.take(true, limit).await?;
        match Self::query(&mut taken, sql, id).await {
            Ok(row) => {
                taken.release();
                Ok(row)
            }
            Err(e) if taken.reused && is_connection_error(&e) => {
                // Most likely the server restarted, and then every idle connection is dead
                // too: close them all and run the query once more on a new connection.
                drop(taken);
                self.forget_idle();
                let mut fresh = self.take(false, limit).await?;
                let row = Self::query(&mut fresh, sql, id).await?;
                fresh.release();
                Ok(row)
            }
            Err(e) => Err(e),
        }
    }

    async fn query(
        taken: &mut Taken<'_>,
        sql: &Arc<str>,
        id: &str,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        let conn = taken
            .conn
            .as_mut()
            .ok_or_else(|| sqlx::Error::Protocol("read lane connection already released".into()))?;
        sqlx::query(AssertSqlSafe(Arc::clone(sql)))
            .bind(id)
            .fetch_optional(conn)
            .await
    }

    /// A connection: an idle one if `reuse` and there is one young enough, else a new one.
    /// Waiting for a permit and connecting share the pool's `acquire_timeout`.
    async fn take(&self, reuse: bool, limit: Duration) -> Result<Taken<'_>, sqlx::Error> {
        let options = self.pool.options();
        let deadline = tokio::time::Instant::now() + options.get_acquire_timeout();
        self.check_open()?;
        let permit = tokio::time::timeout_at(deadline, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        self.check_open()?;
        if reuse
            && let Some(idle) =
                self.pop_idle(options.get_idle_timeout(), options.get_max_lifetime())
        {
            return Ok(Taken {
                lane: self,
                conn: Some(idle.conn),
                opened: idle.opened,
                reused: true,
                _permit: permit,
            });
        }
        let conn = self.connect(deadline, limit).await?;
        let surplus = {
            let mut held = self.lock();
            held.open += 1;
            // A retry opens a connection even if others were put back meanwhile: keep to
            // `max` by closing the oldest idle one.
            (held.open > self.max && !held.idle.is_empty()).then(|| {
                held.open -= 1;
                held.idle.remove(0)
            })
        };
        drop(surplus);
        let taken = Taken {
            lane: self,
            conn: Some(conn),
            opened: Instant::now(),
            reused: false,
            _permit: permit,
        };
        // Closed while connecting: the new connection goes (dropping `taken` closes it).
        self.check_open()?;
        Ok(taken)
    }

    /// `PoolClosed` once the pool is closed, after closing the idle connections (for a pool
    /// closed directly rather than through the backend's `close`).
    fn check_open(&self) -> Result<(), sqlx::Error> {
        if self.pool.is_closed() {
            self.forget_idle();
            return Err(sqlx::Error::PoolClosed);
        }
        Ok(())
    }

    /// A new connection with the pool's connect options and a `statement_timeout` of `limit`
    /// plus [`STATEMENT_TIMEOUT_MARGIN`] (so that the caller's own timeout fires first and
    /// reports what happened as a timeout).
    /// While the server refuses connections or is starting up, tries again with a growing
    /// pause until `deadline`, and then returns the last error.
    async fn connect(
        &self,
        deadline: tokio::time::Instant,
        limit: Duration,
    ) -> Result<PgConnection, sqlx::Error> {
        let statement_timeout = format!("{}ms", (limit + STATEMENT_TIMEOUT_MARGIN).as_millis());
        let mut pause = Duration::from_millis(10);
        loop {
            let options = PgConnectOptions::clone(&self.pool.connect_options())
                .options([("statement_timeout", statement_timeout.as_str())]);
            let error =
                match tokio::time::timeout_at(deadline, PgConnection::connect_with(&options)).await
                {
                    Err(_) => return Err(sqlx::Error::PoolTimedOut),
                    Ok(Ok(conn)) => return Ok(conn),
                    Ok(Err(e)) => e,
                };
            if !is_transient_connect_error(&error)
                || tokio::time::Instant::now() + pause >= deadline
            {
                return Err(error);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Starts, once, a task that closes idle connections past the pool's `idle_timeout` or
    /// `max_lifetime` every so often (the shorter of the two, as sqlx's pool reaps its own),
    /// so that a quiet instance lets them go. It ends when the lane is dropped or closed.
    fn start_reaper(self: &Arc<Self>) {
        self.reaper.call_once(|| {
            let options = self.pool.options();
            let period = [options.get_idle_timeout(), options.get_max_lifetime()]
                .into_iter()
                .flatten()
                .min();
            let (Some(period), Ok(runtime)) = (period, tokio::runtime::Handle::try_current())
            else {
                return;
            };
            let period = period.max(Duration::from_millis(100));
            let lane = Arc::downgrade(self);
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Some(lane) = lane.upgrade() else { return };
                    if lane.permits.is_closed() || lane.pool.is_closed() {
                        lane.forget_idle();
                        return;
                    }
                    lane.reap();
                }
            });
        });
    }

    /// Closes every idle connection past the pool's `idle_timeout` or `max_lifetime`.
    fn reap(&self) {
        let options = self.pool.options();
        let (idle_timeout, max_lifetime) = (options.get_idle_timeout(), options.get_max_lifetime());
        drop(self.take_idle(|c| {
            idle_timeout.is_some_and(|limit| c.since.elapsed() >= limit)
                || max_lifetime.is_some_and(|max| c.opened.elapsed() >= max)
        }));
    }

    /// The most recently used idle connection younger than `max_lifetime`, after closing
    /// those idle for longer than `idle_timeout` (the oldest are at the bottom of the stack).
    fn pop_idle(
        &self,
        idle_timeout: Option<Duration>,
        max_lifetime: Option<Duration>,
    ) -> Option<Idle> {
        let mut held = self.lock();
        let stale: Vec<Idle> = match idle_timeout {
            Some(limit) => {
                let n = held
                    .idle
                    .iter()
                    .take_while(|c| c.since.elapsed() >= limit)
                    .count();
                held.idle.drain(..n).collect()
            }
            None => Vec::new(),
        };
        let mut stale = stale;
        let mut next = held.idle.pop();
        while let Some(old) =
            next.take_if(|c| max_lifetime.is_some_and(|max| c.opened.elapsed() >= max))
        {
            stale.push(old);
            next = held.idle.pop();
        }
        held.open -= stale.len();
        drop(held);
        // Closed after the lock is let go.
        drop(stale);
        next
    }
}

/// Whether `error` says the connection itself is gone (so the query may run again on another).
fn is_connection_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01 admin shutdown, 57P02 crash shutdown,
            // 57P03 cannot connect now.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Whether opening a connection failed in a way that may pass soon: the server refuses
/// connections (it is restarting) or says it is starting up (57P03).
fn is_transient_connect_error(error: &sqlx::Error) -> bool {
    use std::io::ErrorKind;
    match error {
        sqlx::Error::Io(e) => matches!(
            e.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
        ),
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code == "57P03"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_told_from_query_errors() {
        let io = |kind| sqlx::Error::Io(std::io::Error::from(kind));
        assert!(is_connection_error(&io(std::io::ErrorKind::BrokenPipe)));
        assert!(is_connection_error(&sqlx::Error::Protocol("eof".into())));
        assert!(!is_connection_error(&sqlx::Error::RowNotFound));
        assert!(!is_connection_error(&sqlx::Error::PoolTimedOut));
        assert!(is_transient_connect_error(&io(
            std::io::ErrorKind::ConnectionRefused
        )));
        assert!(!is_transient_connect_error(&io(
            std::io::ErrorKind::PermissionDenied
        )));
    }
}
