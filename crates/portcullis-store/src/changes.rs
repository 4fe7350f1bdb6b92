//! The change feed: every committed change to what a cached credential depends
//! on (the triggers of migration 0014), reported to the node's hot cache through
//! a [`ChangeFeed`]; see `portcullis-core`'s `sessions/hot.rs` for what that buys
//! and why it is safe.
//!
//! - PostgreSQL: `LISTEN portcullis_security` on a connection of its own; a
//!   heartbeat `NOTIFY` sent through the main pool every [`HEARTBEAT`] and
//!   received back proves the whole path works.
//! - SQLite (one server, but the CLI or SQL by hand may write to the same file):
//!   the triggers count changes in `security_changes`, which the node reads every
//!   [`HEARTBEAT`]; a read that started at `t` has seen every commit before `t`.

use std::time::{Duration, Instant};

use portcullis_core::ChangeFeed;
use portcullis_core::HEARTBEAT;
use sqlx::postgres::{PgListener, PgPoolOptions};

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;

/// The channel the triggers notify and every node listens to.
pub const CHANNEL: &str = "portcullis_security";

/// The listener's `application_name`, to find it in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "portcullis-changes";

/// Heartbeats are `hb:NODE:NANOS`: NODE tells a node its own from the others',
/// NANOS is when it was sent, after the node's own epoch.
const HEARTBEAT_PREFIX: &str = "hb:";

/// No notification at all (not even another node's heartbeat) for this long means
/// the listening connection is dead even if its socket looks open: reconnect.
const SILENCE: Duration = Duration::from_secs(5);

impl PgStore {
    /// Follows the security changes of every node and reports them to `feed`, for
    /// as long as the returned future runs (it never ends on its own): reconnects
    /// with a growing pause when the database goes away, reporting
    /// [`ChangeFeed::lost`], and [`ChangeFeed::changed`] each time it listens
    /// again (what happened meanwhile is unknown).
    pub async fn follow_changes(&self, feed: ChangeFeed) {
        let options = (*self.pool.connect_options()).clone().application_name(LISTENER_NAME);
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        let node = format!("{:016x}", rand_u64());
        let epoch = Instant::now();
        let heartbeats = tokio::spawn(send_heartbeats(self.pool.clone(), node.clone(), epoch));
        let _stop = AbortOnDrop(heartbeats);
        let mut pause = Duration::from_millis(100);
        let mut outage = false;
        loop {
            match listen(&listen_pool).await {
                Ok(mut listener) => {
                    if outage {
                        tracing::info!("following security changes again (LISTEN {CHANNEL})");
                    }
                    pause = Duration::from_millis(100);
                    feed.changed();
                    let why = receive(&mut listener, &feed, &node, epoch).await;
                    feed.lost();
                    tracing::warn!(reason = %why, "lost the security change feed: the session cache falls back to its short lifetime");
                    outage = true;
                }
                Err(e) => {
                    feed.lost();
                    if !outage {
                        tracing::warn!(error = %e, "cannot follow security changes (LISTEN {CHANNEL}); retrying");
                        outage = true;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

impl SqliteStore {
    /// Reads the change counter every [`HEARTBEAT`] and reports to `feed` for as
    /// long as the returned future runs (it never ends on its own): a moved
    /// counter is a change, every read a heartbeat, a failed read a lost feed.
    pub async fn follow_changes(&self, feed: ChangeFeed) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last: Option<i64> = None;
        let mut outage = false;
        loop {
            tick.tick().await;
            let sent = Instant::now();
            match sqlx::query_scalar::<_, i64>("SELECT counter FROM security_changes WHERE id = 1")
                .fetch_one(&self.pool)
                .await
            {
                Ok(counter) => {
                    if last != Some(counter) {
                        feed.changed();
                        last = Some(counter);
                    }
                    feed.synced(sent);
                    if outage {
                        tracing::info!("following security changes again");
                        outage = false;
                    }
                }
                Err(e) => {
                    // The next good read reports a change, whatever the counter says.
                    feed.lost();
                    last = None;
                    if !outage {
                        tracing::warn!(error = %e, "lost the security change feed: the session cache falls back to its short lifetime");
                        outage = true;
                    }
                }
            }
        }
    }
}

async fn listen(pool: &sqlx::PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Reports notifications until the connection is lost; returns why it stopped.
async fn receive(listener: &mut PgListener, feed: &ChangeFeed, node: &str, epoch: Instant) -> String {
    loop {
        match tokio::time::timeout(SILENCE, listener.try_recv()).await {
            Err(_) => return format!("no notification for {} s", SILENCE.as_secs()),
            Ok(Err(e)) => return e.to_string(),
            Ok(Ok(None)) => return "connection closed".to_owned(),
            Ok(Ok(Some(n))) => match n.payload().strip_prefix(HEARTBEAT_PREFIX) {
                Some(beat) => {
                    if let Some(nanos) = beat.strip_prefix(node).and_then(|r| r.strip_prefix(':'))
                        && let Ok(nanos) = nanos.parse::<u64>()
                    {
                        feed.synced(epoch + Duration::from_nanos(nanos));
                    }
                }
                None => feed.changed(),
            },
        }
    }
}

/// Every [`HEARTBEAT`], a notification to this node itself through the main pool,
/// which comes back after every change committed before it.
async fn send_heartbeats(pool: sqlx::PgPool, node: String, epoch: Instant) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let sent = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let payload = format!("{HEARTBEAT_PREFIX}{node}:{sent}");
        // A failure needs no handling: no heartbeat comes back, and the cache
        // falls back to its short lifetime by itself.
        let _ = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&pool).await;
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    portcullis_core::token::fill_random(&mut bytes);
    u64::from_le_bytes(bytes)
}
