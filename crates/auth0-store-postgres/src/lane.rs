//! The read lane: connections set aside for `load`, the query every request with a session
//! runs.
//!
//! Why: sqlx's pool pings a connection when it goes back (always) and, by default, again
//! before handing it out, so one `SELECT` through the pool costs two or three round trips of
//! server and client work (docs/benchmarks.md measured 2.65× a prepared `SELECT`). The lane
//! checks connections out of the pool once and keeps them in a stack of its own, checking
//! nothing on the way in or out.
//!
//! **They stay the pool's connections.** Each one the lane holds is checked out of the pool
//! and counts in its `max_connections`, so the backend never has more connections open than
//! the app gave its pool (the lane holds at most that many itself). What the pings guard
//! against, and the pool's other users, the lane looks after itself:
//!
//! - **Others waiting.** When an operation of the backend's that goes through the pool
//!   (writes, the transaction store, cleanup) finds the pool full (no idle connection, no
//!   room to open one), it asks the lane for room ([`ReadLane::make_room`]): the lane hands
//!   one idle connection back to the pool, and until that operation has its connection every
//!   connection a `load` finishes with goes back to the pool too. So a lane that grew while
//!   reads were busy never starves the backend's writes. (Queries an app runs on the same
//!   pool cannot ask: the lane gives its idle connections back after the pool's
//!   `idle_timeout`.)
//! - **Cancellation.** A connection goes back on the stack only after its query has run to
//!   the end. A `load` whose future is dropped half-way (its timeout fired, the request was
//!   cancelled) closes its connection, so no half-read reply is ever seen by the next query.
//!   PostgreSQL does not notice a closed client while the query waits (on a lock, say), so
//!   the lane sets each connection's `statement_timeout` to the operation's timeout plus a
//!   second when it takes it from the pool (and resets it before handing it back): the
//!   server ends such a query itself and, finding the client gone, the session.
//! - **Dead connections.** After a server restart the idle connections are closed at the
//!   other end. A query that fails on a reused connection with a connection error (I/O, TLS,
//!   protocol, SQLSTATE class 08, or the server shutting the session down: 57P01–57P03)
//!   closes every idle connection and runs once more on one fresh from the pool (which tests
//!   it first; `load` only reads, so running it twice is harmless). Any other error (a
//!   statement timeout, a missing table) is returned as it is, and only that connection is
//!   closed.
//! - **Limits.** At most `max` connections are held (taken from the pool on demand); waiting
//!   for one is bounded by the pool's `acquire_timeout`; connections held longer than the
//!   pool's `max_lifetime` or idle longer than its `idle_timeout` are closed instead of
//!   reused, and a reaper task closes them when nothing else comes along.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool, Postgres};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How much longer than the operation's timeout the server lets a read connection's
/// statement run before ending it.
const STATEMENT_TIMEOUT_MARGIN: Duration = Duration::from_secs(1);

/// Sets the `statement_timeout` of a connection the lane takes from the pool (`$1`: e.g.
/// `11000ms`), for the rest of its session.
const SET_STATEMENT_TIMEOUT: &str = "SELECT set_config('statement_timeout', $1, false)";

/// Gives a connection the lane hands back to the pool the server's `statement_timeout` again.
const RESET_STATEMENT_TIMEOUT: &str = "RESET statement_timeout";

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
    /// Connections the lane holds now (checked out of the pool): idle ones and ones running
    /// a query.
    pub open: usize,
    /// Idle connections, waiting for the next `load`.
    pub idle: usize,
    /// The most it may hold at once, at most the pool's `max_connections` (0: `load` goes
    /// through the pool).
    pub max: usize,
}

/// An idle connection and its ages.
struct Idle {
    conn: PoolConnection<Postgres>,
    opened: Instant,
    since: Instant,
}

/// The idle stack and the count of connections held, changed together under one lock.
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
    /// Operations of the backend's waiting for a connection from a full pool (see
    /// [`Self::make_room`]); while any are, connections go back to the pool after a `load`.
    waiting: AtomicUsize,
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

/// Marks an operation as waiting for a connection from a full pool, until dropped.
pub(crate) struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection taken from the lane. Dropped without [`Self::release`], it is closed.
struct Taken<'a> {
    lane: &'a ReadLane,
    conn: Option<PoolConnection<Postgres>>,
    opened: Instant,
    reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl Taken<'_> {
    /// Puts the connection back on the stack; or hands it back to the pool when an
    /// operation is waiting for one; or closes it when it is past the pool's `max_lifetime`,
    /// the pool is closed, or more are held than the lane allows (a retry may take one while
    /// another task puts one back).
    async fn release(mut self) {
        let Some(conn) = self.conn.take() else { return };
        let lane = self.lane;
        let too_old = lane
            .pool
            .options()
            .get_max_lifetime()
            .is_some_and(|max| self.opened.elapsed() >= max);
        let wanted = lane.waiting.load(Ordering::Acquire) > 0;
        let leaving = {
            let mut held = lane.lock();
            let closed = lane.pool.is_closed() || lane.permits.is_closed();
            if too_old || closed || wanted || held.open > lane.max {
                held.open -= 1;
                Some((conn, wanted && !too_old && !closed))
            } else {
                held.idle.push(Idle {
                    conn,
                    opened: self.opened,
                    since: Instant::now(),
                });
                None
            }
        };
        match leaving {
            Some((conn, true)) => hand_back(conn).await,
            Some((conn, false)) => close(conn),
            None => {}
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Not released: the query was cancelled or failed. Closing it is the only way to
            // be sure the next query does not read the rest of this one's reply.
            self.lane.lock().open -= 1;
            close(conn);
        }
    }
}

/// Closes `conn`, keeping its place in the pool's count until it is closed; outside a
/// runtime (nothing to close it on) it is dropped, its socket closed at once.
fn close(mut conn: PoolConnection<Postgres>) {
    if tokio::runtime::Handle::try_current().is_ok() {
        conn.close_on_drop();
        drop(conn);
    } else {
        drop(conn.detach());
    }
}

/// Gives `conn` back to the pool with the server's `statement_timeout`, or closes it if that
/// fails.
async fn hand_back(mut conn: PoolConnection<Postgres>) {
    match sqlx::query(RESET_STATEMENT_TIMEOUT)
        .execute(&mut *conn)
        .await
    {
        // Dropped, a pool connection goes back to the pool.
        Ok(_) => drop(conn),
        Err(_) => close(conn),
    }
}

impl ReadLane {
    /// A lane of at most `max` connections of `pool`'s (capped at the pool's
    /// `max_connections`).
    pub(crate) fn new(pool: PgPool, max: usize) -> Self {
        let max = max
            .min(pool.options().get_max_connections() as usize)
            .min(Semaphore::MAX_PERMITS);
        Self {
            pool,
            held: Mutex::new(Held::default()),
            permits: Semaphore::new(max),
            max,
            waiting: AtomicUsize::new(0),
            reaper: Once::new(),
        }
    }

    /// The most connections that may be held at once.
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

    /// Called by an operation about to take a connection from the pool. When the pool is
    /// full (no idle connection, no room to open one), hands one idle connection of the
    /// lane's back to it, and returns a mark that makes every connection a `load` finishes
    /// with go back to the pool too, until the operation drops it (when it has run).
    pub(crate) async fn make_room(&self) -> Option<Waiting<'_>> {
        let pool_max = self.pool.options().get_max_connections();
        if self.pool.num_idle() > 0 || self.pool.size() < pool_max {
            return None;
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let waiting = Waiting(&self.waiting);
        let one = {
            let mut held = self.lock();
            let one = held.idle.pop();
            held.open -= usize::from(one.is_some());
            one
        };
        if let Some(idle) = one {
            hand_back(idle.conn).await;
        }
        Some(waiting)
    }

    /// Closes every idle connection politely (a `Terminate` message, then the socket), for
    /// a shutdown; connections running a query close when their query ends.
    pub(crate) async fn close_idle(&self) {
        // Nobody gets a permit any more: a `load` waiting for one fails, none takes anything.
        self.permits.close();
        for idle in self.take_idle(|_| true) {
            // A connection that cannot say goodbye is closed all the same.
            let _ = idle.conn.close().await;
        }
    }

    /// Closes every idle connection.
    fn forget_idle(&self) {
        self.take_idle(|_| true)
            .into_iter()
            .for_each(|idle| close(idle.conn));
    }

    /// Takes the idle connections `which` picks off the stack (no longer counted as held);
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
    /// caller's timeout for the whole operation: connections taken from the pool get it as
    /// their `statement_timeout`.
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
                taken.release().await;
                Ok(row)
            }
            Err(e) if taken.reused && is_connection_error(&e) => {
                // Most likely the server restarted, and then every idle connection is dead
                // too: close them all and run the query once more on a fresh connection.
                drop(taken);
                self.forget_idle();
                let mut fresh = self.take(false, limit).await?;
                let row = Self::query(&mut fresh, sql, id).await?;
                fresh.release().await;
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
            .fetch_optional(&mut **conn)
            .await
    }

    /// A connection: an idle one if `reuse` and there is one young enough, else one taken
    /// from the pool. Waiting for a permit and for the pool share the pool's
    /// `acquire_timeout`.
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
        let conn = tokio::time::timeout_at(deadline, self.adopt(limit))
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        self.lock().open += 1;
        let taken = Taken {
            lane: self,
            conn: Some(conn),
            opened: Instant::now(),
            reused: false,
            _permit: permit,
        };
        // Closed meanwhile: the connection goes (dropping `taken` closes it).
        self.check_open()?;
        Ok(taken)
    }

    /// A connection from the pool with a `statement_timeout` of `limit` plus
    /// [`STATEMENT_TIMEOUT_MARGIN`] (so that the caller's own timeout fires first and
    /// reports what happened as a timeout).
    async fn adopt(&self, limit: Duration) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let statement_timeout = format!("{}ms", (limit + STATEMENT_TIMEOUT_MARGIN).as_millis());
        match sqlx::query(SET_STATEMENT_TIMEOUT)
            .bind(statement_timeout)
            .execute(&mut *conn)
            .await
        {
            Ok(_) => Ok(conn),
            Err(e) => {
                close(conn);
                Err(e)
            }
        }
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
    /// Starts, once, a task that closes idle connections past the pool's `idle_timeout` or
    /// `max_lifetime` every so often (the shorter of the two, as sqlx's pool reaps its own),
    /// so that a quiet instance lets them go, and every idle connection as soon as the pool
    /// is closed (a pool's `close` waits for its connections: it must not wait for these).
    /// It ends when the lane is dropped or closed.
    fn start_reaper(self: &Arc<Self>) {
        self.reaper.call_once(|| {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let options = self.pool.options();
            let period = [options.get_idle_timeout(), options.get_max_lifetime()]
                .into_iter()
                .flatten()
                .min()
                .map(|period| period.max(Duration::from_millis(100)));
            let closed = self.pool.close_event();
            let lane = Arc::downgrade(self);
            runtime.spawn(async move {
                let mut closed = std::pin::pin!(closed);
                let mut tick = period.map(|period| {
                    let mut tick =
                        tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    tick
                });
                loop {
                    let next_tick = async {
                        match tick.as_mut() {
                            Some(tick) => {
                                tick.tick().await;
                            }
                            None => std::future::pending().await,
                        }
                    };
                    let pool_closed = tokio::select! {
                        _ = &mut closed => true,
                        () = next_tick => false,
                    };
                    let Some(lane) = lane.upgrade() else { return };
                    if pool_closed || lane.permits.is_closed() || lane.pool.is_closed() {
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
        self.take_idle(|c| {
            idle_timeout.is_some_and(|limit| c.since.elapsed() >= limit)
                || max_lifetime.is_some_and(|max| c.opened.elapsed() >= max)
        })
        .into_iter()
        .for_each(|idle| close(idle.conn));
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
        stale.into_iter().for_each(|idle| close(idle.conn));
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
    }
}
