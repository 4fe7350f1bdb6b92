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
        let now = Instant::now();
        let mut guard = self.lock();
        if now.duration_since(guard.swept) >= HOT_TTL || guard.map.len() >= CAPACITY {
            guard.map.retain(|_, hot| now.duration_since(hot.stored) < HOT_TTL);
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
        let hot = guard.map.get(key)?;
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

    #[test]
    fn expired_entries_are_dropped_not_kept_until_the_map_is_full() {
        let cache: HotCache<u32, ()> = HotCache::new();
        let g = cache.generation();
        for i in 0..100u8 {
            cache.sessions.put([i; 32], 0, g);
        }
        assert_eq!(cache.sessions.len(), 100);
        std::thread::sleep(HOT_TTL + Duration::from_millis(20));
        cache.sessions.put([200; 32], 1, g);
        assert_eq!(cache.sessions.len(), 1, "the expired entries went with the next put");
        assert_eq!(cache.get(&cache.sessions, &[200; 32]), Some(1));
    }
}
