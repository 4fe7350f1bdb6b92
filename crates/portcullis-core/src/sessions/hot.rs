//! The per-node cache of hot credentials: a session (or a token family) looked up in
//! the database is served from memory for a short while instead of asking again.
//!
//! On this node, every use case that changes security state (a logout, a
//! revocation, a password, email or MFA change, a disabled or deleted account, a
//! revoked token family) calls `Auth::security_state_changed` right after its
//! write, which empties the cache at once: an entry is only served while the node
//! has made no such change since it was stored. Expiry (idle and absolute) is still
//! checked on every use, against the injected clock.
//!
//! Changes made elsewhere (another node, the CLI, SQL by hand) reach this node in
//! one of two ways:
//! - Without a change feed (an application embedding the library that does not
//!   run one), an entry is served for at most [`HOT_TTL`], half of the second
//!   SPEC §4 allows.
//! - With one (`portcullis_store::changes`: PostgreSQL `LISTEN`/`NOTIFY`, or on
//!   SQLite a change counter read every [`HEARTBEAT`]), every change committed
//!   anywhere empties the cache as soon as it is seen, so an entry may live for
//!   [`FED_TTL`] — but only while the feed is proven working: it reports a
//!   heartbeat every [`HEARTBEAT`] (on PostgreSQL a notification the node sends
//!   itself, which arrives after every change committed before it; on SQLite a
//!   read of the counter, which sees every commit before it started), and an
//!   entry older than [`HOT_TTL`] is served only if a heartbeat sent less than
//!   [`HOT_TTL`] ago has come back. A lost connection, a stalled listener or a
//!   dead database all fall back to [`HOT_TTL`] on their own, and a feed that
//!   starts again empties the cache (what happened while away is unknown).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an entry may be served without asking the database again, unless a
/// working change feed says nothing changed.
pub const HOT_TTL: Duration = Duration::from_millis(500);

/// How long an entry may be served while the change feed is working.
pub const FED_TTL: Duration = Duration::from_secs(10);

/// How often the change feed sends itself a heartbeat.
pub const HEARTBEAT: Duration = Duration::from_millis(100);

/// Entries kept at most (the map is emptied when it is full).
const CAPACITY: usize = 50_000;

/// One map of hot entries. Entries older than [`HOT_TTL`] are never served, and `put`
/// drops them (at most once per [`HOT_TTL`]), so the map holds about one TTL's worth
/// of lookups, not every credential looked up since it was last full (found with
/// scripts/soak, docs/SOAK.md: without the sweep a node kept up to [`CAPACITY`] dead
/// entries per map, about 0.7 KiB each).
pub(crate) struct HotMap<K, V> {
    map: Mutex<Entries<K, V>>,
}

struct Entries<K, V> {
    map: HashMap<K, Hot<V>>,
    swept: Instant,
}

struct Hot<V> {
    stored: Instant,
    generation: u64,
    value: V,
}

impl<K: Eq + Hash, V: Clone> HotMap<K, V> {
    fn new() -> Self {
        Self { map: Mutex::new(Entries { map: HashMap::new(), swept: Instant::now() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<K, V>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `value`, read from the database under `generation`.
    pub(crate) fn put(&self, key: K, value: V, generation: u64) {
        self.put_at(key, value, generation, Instant::now());
    }

    fn put_at(&self, key: K, value: V, generation: u64, now: Instant) {
        let mut guard = self.lock();
        if now.duration_since(guard.swept) >= HOT_TTL || guard.map.len() >= CAPACITY {
            guard.map.retain(|_, hot| now.duration_since(hot.stored) < FED_TTL);
            guard.swept = now;
            if guard.map.len() >= CAPACITY {
                guard.map.clear();
            }
        }
        guard.map.insert(key, Hot { stored: now, generation, value });
    }

    pub(crate) fn remove(&self, key: &K) {
        self.lock().map.remove(key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }
}

/// The hot sessions and token families of one node.
pub(crate) struct HotCache<S, F> {
    /// Bumped by every state-changing security event on this node, and by every
    /// change the feed reports.
    generation: AtomicU64,
    /// Nanoseconds after `epoch` at which the newest heartbeat that came back was
    /// sent; 0 when the feed is not working.
    synced: AtomicU64,
    epoch: Instant,
    pub(crate) sessions: HotMap<[u8; 32], S>,
    pub(crate) families: HotMap<uuid::Uuid, F>,
}

impl<S: Clone, F: Clone> HotCache<S, F> {
    pub(crate) fn new() -> Self {
        Self {
            generation: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            epoch: Instant::now(),
            sessions: HotMap::new(),
            families: HotMap::new(),
        }
    }

    /// Everything stored before now stops being served.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The generation to store with a value read from the database; read it
    /// *before* the database, so an event that lands in between wins.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A heartbeat sent at `sent` came back through the feed.
    fn synced(&self, sent: Instant) {
        let nanos = u64::try_from(sent.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX);
        self.synced.fetch_max(nanos.max(1), Ordering::AcqRel);
    }

    /// The feed stopped working: back to [`HOT_TTL`]. What was stored stays for
    /// its short lifetime (every change committed before the last heartbeat came
    /// back has been seen); a feed that starts again reports
    /// [`ChangeFeed::changed`], since what happened meanwhile is unknown.
    fn lost(&self) {
        self.synced.store(0, Ordering::Release);
    }

    /// Whether a heartbeat sent less than [`HOT_TTL`] before `now` has come back.
    fn feed_is_current(&self, now: Instant) -> bool {
        let synced = self.synced.load(Ordering::Acquire);
        synced != 0 && now.saturating_duration_since(self.epoch + Duration::from_nanos(synced)) < HOT_TTL
    }

    pub(crate) fn get<K: Eq + Hash, V: Clone>(&self, map: &HotMap<K, V>, key: &K) -> Option<V> {
        self.get_at(map, key, Instant::now())
    }

    fn get_at<K: Eq + Hash, V: Clone>(&self, map: &HotMap<K, V>, key: &K, now: Instant) -> Option<V> {
        let current = self.generation();
        let guard = map.lock();
        let hot = guard.map.get(key)?;
        let age = now.saturating_duration_since(hot.stored);
        let fresh = age < HOT_TTL || (age < FED_TTL && self.feed_is_current(now));
        (hot.generation == current && fresh).then(|| hot.value.clone())
    }
}

/// What a change feed reports to this node's hot cache (see the module docs).
/// Made by [`Auth::change_feed`](crate::Auth::change_feed) and driven by the
/// store's listener.
#[derive(Clone)]
pub struct ChangeFeed {
    hot: std::sync::Arc<dyn FeedTarget>,
}

trait FeedTarget: Send + Sync {
    fn is_current(&self) -> bool;
    fn changed(&self);
    fn synced(&self, sent: Instant);
    fn lost(&self);
}

impl<S: Clone + Send + Sync, F: Clone + Send + Sync> FeedTarget for HotCache<S, F> {
    fn is_current(&self) -> bool {
        self.feed_is_current(Instant::now())
    }
    fn changed(&self) {
        self.invalidate();
    }
    fn synced(&self, sent: Instant) {
        HotCache::synced(self, sent);
    }
    fn lost(&self) {
        HotCache::lost(self);
    }
}

impl ChangeFeed {
    pub(crate) fn new<S, F>(hot: std::sync::Arc<HotCache<S, F>>) -> Self
    where
        S: Clone + Send + Sync + 'static,
        F: Clone + Send + Sync + 'static,
    {
        Self { hot }
    }

    /// A session, token family or user changed somewhere (or the feed has just
    /// started listening, and anything before may have been missed).
    pub fn changed(&self) {
        self.hot.changed();
    }

    /// A heartbeat sent at `sent` came back: every change committed before it has
    /// been reported.
    pub fn synced(&self, sent: Instant) {
        self.hot.synced(sent);
    }

    /// The feed stopped working (connection lost): fall back to [`HOT_TTL`]
    /// until it reports [`synced`](Self::synced) again.
    pub fn lost(&self) {
        self.hot.lost();
    }

    /// Whether a heartbeat came back less than [`HOT_TTL`] ago: the cache may
    /// serve entries for up to [`FED_TTL`].
    pub fn is_current(&self) -> bool {
        self.hot.is_current()
    }
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeFeed(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_served_until_an_event_or_the_ttl() {
        let cache: HotCache<String, ()> = HotCache::new();
        let g = cache.generation();
        cache.sessions.put([1; 32], "s".to_owned(), g);
        assert_eq!(cache.get(&cache.sessions, &[1; 32]).as_deref(), Some("s"));
        cache.invalidate();
        assert_eq!(cache.get(&cache.sessions, &[1; 32]), None, "a state-changing event empties it");
        // A value read before an event is never served after it.
        let before = cache.generation();
        cache.invalidate();
        cache.sessions.put([2; 32], "stale".to_owned(), before);
        assert_eq!(cache.get(&cache.sessions, &[2; 32]), None);
        let g = cache.generation();
        cache.sessions.put([3; 32], "t".to_owned(), g);
        std::thread::sleep(HOT_TTL + Duration::from_millis(20));
        assert_eq!(cache.get(&cache.sessions, &[3; 32]), None, "never older than the TTL");
    }

    #[test]
    fn a_working_feed_extends_the_lifetime_and_a_lost_one_ends_it() {
        let cache: HotCache<u32, ()> = HotCache::new();
        let g = cache.generation();
        cache.sessions.put([1; 32], 1, g);
        let stored = Instant::now();
        let later = stored + HOT_TTL + Duration::from_millis(100);
        assert_eq!(cache.get_at(&cache.sessions, &[1; 32], later), None, "no feed: HOT_TTL");
        // A heartbeat sent just before `later` came back: the entry lives on.
        cache.synced(stored + HOT_TTL + Duration::from_millis(50));
        assert_eq!(cache.get_at(&cache.sessions, &[1; 32], later), Some(1));
        // ...but only while heartbeats keep coming back.
        let stale = later + HOT_TTL;
        assert_eq!(cache.get_at(&cache.sessions, &[1; 32], stale), None, "the last heartbeat is too old");
        cache.synced(stored + HOT_TTL * 2 + Duration::from_millis(90));
        assert_eq!(cache.get_at(&cache.sessions, &[1; 32], stale), Some(1));
        assert_eq!(cache.get_at(&cache.sessions, &[1; 32], stored + FED_TTL), None, "never past FED_TTL");
        // A heartbeat older than the newest one does not move it back.
        cache.synced(stored);
        assert_eq!(cache.get_at(&cache.sessions, &[1; 32], stale), Some(1));
        // A lost feed ends the extension: back to HOT_TTL.
        cache.lost();
        assert_eq!(cache.get_at(&cache.sessions, &[1; 32], stale), None);
        let g = cache.generation();
        cache.sessions.put([2; 32], 2, g);
        let now = Instant::now();
        assert_eq!(cache.get_at(&cache.sessions, &[2; 32], now), Some(2), "young entries stay");
        let after = now + HOT_TTL + Duration::from_millis(1);
        assert_eq!(cache.get_at(&cache.sessions, &[2; 32], after), None, "back to HOT_TTL");
    }

    #[test]
    fn a_change_reported_by_the_feed_empties_the_cache() {
        let cache = std::sync::Arc::new(HotCache::<u32, ()>::new());
        let feed = ChangeFeed::new(cache.clone());
        cache.sessions.put([1; 32], 1, cache.generation());
        feed.synced(Instant::now());
        assert_eq!(cache.get(&cache.sessions, &[1; 32]), Some(1));
        feed.changed();
        assert_eq!(cache.get(&cache.sessions, &[1; 32]), None);
    }

    #[test]
    fn expired_entries_are_dropped_not_kept_until_the_map_is_full() {
        let cache: HotCache<u32, ()> = HotCache::new();
        let g = cache.generation();
        let start = Instant::now();
        for i in 0..100u8 {
            cache.sessions.put_at([i; 32], 0, g, start);
        }
        assert_eq!(cache.sessions.len(), 100);
        // Kept while a working feed could still serve them...
        cache.sessions.put_at([150; 32], 1, g, start + HOT_TTL + Duration::from_millis(20));
        assert_eq!(cache.sessions.len(), 101);
        // ...and dropped with the first put after that.
        let later = start + FED_TTL + Duration::from_millis(20);
        cache.sessions.put_at([200; 32], 1, g, later);
        assert_eq!(cache.sessions.len(), 2, "the expired entries went with the next put");
        assert_eq!(cache.get_at(&cache.sessions, &[200; 32], later), Some(1));
    }
}
