//! The per-node cache of hot credentials: a session (or a token family) looked up in
//! the database is served from memory for at most [`HOT_TTL`]. A logout, revocation
//! or password change may take up to a second to reach the other nodes of a
//! cluster, so a shorter lifetime needs no cross-node invalidation. On this node,
//! every use case that changes security state (a logout, a revocation, a password,
//! email or MFA change, a disabled or deleted account, a revoked token family) calls
//! `Auth::security_state_changed` right after its write, which empties the cache at
//! once: an entry is only served while the node has made no such change since it
//! was stored. Expiry (idle and absolute) is still checked on every use,
//! against the injected clock.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an entry may be served without asking the database again.
pub const HOT_TTL: Duration = Duration::from_millis(500);

/// Entries kept at most (the map is emptied when it is full).
const CAPACITY: usize = 50_000;

/// One map of hot entries.
pub(crate) struct HotMap<K, V> {
    map: Mutex<HashMap<K, Hot<V>>>,
}

struct Hot<V> {
    stored: Instant,
    generation: u64,
    value: V,
}

impl<K: Eq + Hash, V: Clone> HotMap<K, V> {
    fn new() -> Self {
        Self { map: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Hot<V>>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `value`, read from the database under `generation`.
    pub(crate) fn put(&self, key: K, value: V, generation: u64) {
        let mut guard = self.lock();
        if guard.len() >= CAPACITY {
            guard.clear();
        }
        guard.insert(key, Hot { stored: Instant::now(), generation, value });
    }

    pub(crate) fn remove(&self, key: &K) {
        self.lock().remove(key);
    }
}

/// The hot sessions and token families of one node.
pub(crate) struct HotCache<S, F> {
    /// Bumped by every state-changing security event on this node.
    generation: AtomicU64,
    pub(crate) sessions: HotMap<[u8; 32], S>,
    pub(crate) families: HotMap<uuid::Uuid, F>,
}

impl<S: Clone, F: Clone> HotCache<S, F> {
    pub(crate) fn new() -> Self {
        Self { generation: AtomicU64::new(0), sessions: HotMap::new(), families: HotMap::new() }
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

    pub(crate) fn get<K: Eq + Hash, V: Clone>(&self, map: &HotMap<K, V>, key: &K) -> Option<V> {
        let current = self.generation();
        let guard = map.lock();
        let hot = guard.get(key)?;
        (hot.generation == current && hot.stored.elapsed() < HOT_TTL).then(|| hot.value.clone())
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
}
