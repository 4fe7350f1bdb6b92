//! Passwords: NFKC normalisation, the NIST 800-63B length rules, the common-password
//! list, and Argon2id hashing bounded by a semaphore so a login flood cannot take
//! more than one hash's memory per CPU.

use std::fmt;
use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::accounts::{common_passwords, legacy_hash};
use crate::error::FieldError;

/// Longest accepted password, in bytes after normalisation.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A password, NFKC-normalised, and as typed when that differs. Never printed,
/// zeroed on drop.
#[derive(Clone)]
pub struct Password(Zeroizing<String>, Option<Zeroizing<String>>);

impl Password {
    pub fn new(raw: &str) -> Self {
        let normalised: String = raw.nfkc().collect();
        let typed = (normalised != raw).then(|| Zeroizing::new(raw.to_owned()));
        Self(Zeroizing::new(normalised), typed)
    }

    /// The NFKC form: what Portcullis hashes and checks (SPEC §5).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The password exactly as typed: what an imported hash is checked against,
    /// since the old application did not normalise it (SPEC §9).
    pub fn as_typed(&self) -> &str {
        self.1.as_deref().map_or(&self.0, |t| t.as_str())
    }

    /// Whether the password is short enough to be worth hashing at all.
    pub fn within_max_length(&self) -> bool {
        self.0.len() <= MAX_PASSWORD_BYTES
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// The rules a new password must satisfy.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// Lowest accepted zxcvbn score (0..=4); 0 turns the estimate off.
    pub min_strength: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 8, min_strength: 3 }
    }
}

impl PasswordPolicy {
    /// Checks a new password; `field` names the form field in the error, `context`
    /// holds words the password must not lean on (the user's email).
    pub fn check(
        &self,
        password: &Password,
        field: &'static str,
        context: &[&str],
    ) -> Result<(), FieldError> {
        let chars = password.expose().chars().count();
        if chars < self.min_length {
            return Err(FieldError::new(
                field,
                "password_too_short",
                format!("use at least {} characters", self.min_length),
            ));
        }
        if !password.within_max_length() {
            return Err(FieldError::new(
                field,
                "password_too_long",
                format!("use at most {MAX_PASSWORD_BYTES} bytes"),
            ));
        }
        if common_passwords::contains(password.expose()) {
            return Err(FieldError::new(
                field,
                "breached_password",
                "this password is too common and appears in lists attackers try first; choose another",
            ));
        }
        if self.min_strength > 0 {
            let mut words: Vec<&str> = context.to_vec();
            words.extend(
                context
                    .iter()
                    .flat_map(|c| c.split(|ch: char| !ch.is_alphanumeric()))
                    .filter(|w| w.len() > 2),
            );
            let estimate = zxcvbn::zxcvbn(password.expose(), &words);
            if u8::from(estimate.score()) < self.min_strength {
                return Err(FieldError::new(field, "weak_password", weakness(&estimate)));
            }
        }
        Ok(())
    }
}

/// zxcvbn's warning and suggestions as one sentence for the user.
fn weakness(estimate: &zxcvbn::Entropy) -> String {
    let mut parts = vec!["this password is too easy to guess".to_owned()];
    if let Some(feedback) = estimate.feedback() {
        if let Some(w) = feedback.warning() {
            parts.push(w.to_string().trim_end_matches('.').to_owned());
        }
        parts.extend(feedback.suggestions().iter().map(|s| s.to_string().trim_end_matches('.').to_owned()));
    }
    if parts.len() == 1 {
        parts.push("add a few more uncommon words".to_owned());
    }
    format!("{}.", parts.join(". "))
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashCost {
    /// OWASP's recommendation: m=19 MiB, t=2, p=1.
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid Argon2 parameters: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task was cancelled")]
    Cancelled,
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash used other parameters than the configured ones.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords off the async executor, on one dedicated thread per
/// permit, at most `permits` at once (so a flood of sign-ins queues instead of
/// taking more memory).
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    pool: Arc<HashPool>,
    dummy_hash: Arc<str>,
    observer: Option<Arc<dyn Fn(std::time::Duration) + Send + Sync>>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Builds a hasher; `concurrency` is normally the number of CPUs.
    pub fn new(cost: HashCost, concurrency: usize) -> Result<Self, HashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        // A random salt and a random output at the configured cost: verifying any
        // password against it computes one Argon2id at that cost, as a real hash
        // would, and never matches. Nothing is hashed at start-up (a hash here took
        // `memory_kib` on the calling thread, which an allocator may keep resident).
        let (mut salt, mut output) = ([0u8; 16], [0u8; Params::DEFAULT_OUTPUT_LEN]);
        crate::token::fill_random(&mut salt);
        crate::token::fill_random(&mut output);
        let dummy_hash = phc_string(&params, &salt, &output)?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            pool: Arc::new(HashPool::new(concurrency.max(1))?),
            dummy_hash: dummy_hash.into(),
            observer: None,
        })
    }

    /// Calls `observe` with the duration of every hash or verification (for metrics).
    #[must_use]
    pub fn with_observer(mut self, observe: Arc<dyn Fn(std::time::Duration) + Send + Sync>) -> Self {
        self.observer = Some(observe);
        self
    }

    pub fn cost(&self) -> HashCost {
        HashCost {
            memory_kib: self.params.m_cost(),
            iterations: self.params.t_cost(),
            parallelism: self.params.p_cost(),
        }
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let params = self.params.clone();
        let password = password.clone();
        self.run(move || hash_phc(&params, password.expose().as_bytes())).await?
    }

    /// Verifies a password against a stored hash: an Argon2 PHC string, or a hash
    /// imported from another application ([`legacy_hash`], checked against the
    /// password as typed, and always to be replaced). A malformed stored hash
    /// never matches.
    pub async fn verify(&self, password: &Password, stored: &str) -> Result<Verified, HashError> {
        let params = self.params.clone();
        let password = password.clone();
        let stored = stored.to_owned();
        self.run(move || {
            if let Some(ok) = legacy_hash::verify(&stored, password.as_typed().as_bytes()) {
                return Verified { ok, needs_rehash: true };
            }
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Verified { ok: false, needs_rehash: false };
            };
            let mut needs_rehash = parsed.algorithm != argon2::ARGON2ID_IDENT
                || Params::try_from(&parsed).map_or(true, |p| {
                    p.m_cost() != params.m_cost()
                        || p.t_cost() != params.t_cost()
                        || p.p_cost() != params.p_cost()
                });
            let mut ok = verify_phc(&parsed, password.expose().as_bytes());
            if !ok && password.as_typed() != password.expose() {
                // An imported Argon2 hash of a password its application did not
                // normalise: it matches as typed, and is replaced by the NFKC form's.
                ok = verify_phc(&parsed, password.as_typed().as_bytes());
                needs_rehash |= ok;
            }
            Verified { ok, needs_rehash }
        })
        .await
    }

    /// Spends the same work as a real verification, for unknown accounts.
    pub async fn verify_dummy(&self, password: &Password) -> Result<(), HashError> {
        let dummy = Arc::clone(&self.dummy_hash);
        self.verify(password, &dummy).await.map(|_| ())
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Cancelled)?;
        let observer = self.observer.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let started = std::time::Instant::now();
            let out = work();
            if let Some(observe) = observer {
                observe(started.elapsed());
            }
            let _ = done.send(out);
        });
        self.pool.submit(job)?;
        result.await.map_err(|_| HashError::Cancelled)
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of hashing threads. Argon2 allocates `memory_kib` per hash; on a
/// fixed set of threads the allocator keeps reusing the same few regions, whereas
/// hashing on whichever blocking-pool thread is free spreads them over many malloc
/// arenas and lets the resident set grow far past `threads × memory_kib`. The
/// threads end when the last `PasswordHasher` clone is dropped.
struct HashPool {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl HashPool {
    fn new(threads: usize) -> Result<Self, HashError> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("portcullis-hash-{i}"))
                .spawn(move || {
                    loop {
                        let next = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| HashError::Hash(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self { jobs: std::sync::Mutex::new(jobs) })
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        let jobs = self.jobs.lock().map_err(|_| HashError::Cancelled)?;
        jobs.send(job).map_err(|_| HashError::Cancelled)
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

thread_local! {
    /// The Argon2 working memory of this hashing thread, allocated once and reused:
    /// a fresh `memory_kib` allocation per hash fragments the allocator's heap until
    /// the process holds many times what is in use (measured: 240 MiB instead of
    /// 40 MiB at m = 19 MiB on two threads), and costs page faults on every hash.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with at least `params.block_count()` blocks of this thread's memory.
fn with_blocks<R>(params: &Params, f: impl FnOnce(&mut [argon2::Block]) -> R) -> R {
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < params.block_count() {
            blocks.resize(params.block_count(), argon2::Block::default());
        }
        f(&mut blocks)
    })
}

/// Argon2id of `password` with a fresh 128-bit salt, as a PHC string (what the
/// argon2 crate's `hash_password` makes, on reused memory).
fn hash_phc(params: &Params, password: &[u8]) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    crate::token::fill_random(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_blocks(params, |blocks| {
        argon2(params).hash_password_into_with_memory(password, &salt, &mut out, blocks)
    })
    .map_err(|e| HashError::Hash(e.to_string()))?;
    phc_string(params, &salt, &out)
}

/// The PHC string of an Argon2id output at `params`.
fn phc_string(params: &Params, salt: &[u8], out: &[u8]) -> Result<String, HashError> {
    use argon2::password_hash::phc::{Output, ParamsString, Salt};
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| HashError::Hash(e.to_string()))?,
        salt: Some(Salt::new(salt).map_err(|e| HashError::Hash(e.to_string()))?),
        hash: Some(Output::new(out).map_err(|e| HashError::Hash(e.to_string()))?),
    };
    Ok(phc.to_string())
}

/// Recomputes a stored Argon2 hash (any variant and cost it names) on reused memory
/// and compares in constant time.
fn verify_phc(parsed: &PasswordHash, password: &[u8]) -> bool {
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        Params::try_from(parsed),
        parsed.salt.as_ref(),
        parsed.hash.as_ref(),
    ) else {
        return false;
    };
    let Ok(version) = Version::try_from(parsed.version.unwrap_or(0x13)) else { return false };
    let mut out = vec![0u8; expected.as_bytes().len()];
    let hasher = Argon2::new(algorithm, version, params.clone());
    let computed = with_blocks(&params, |blocks| {
        hasher.hash_password_into_with_memory(password, salt, &mut out, blocks)
    });
    computed.is_ok() && subtle::ConstantTimeEq::ct_eq(out.as_slice(), expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher as _;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(HashCost { memory_kib: 256, iterations: 1, parallelism: 1 }, 2).unwrap()
    }

    #[test]
    fn passwords_are_nfkc_normalised() {
        // U+FB01 (the "fi" ligature) becomes "fi" under NFKC.
        assert_eq!(Password::new("\u{FB01}sh").expose(), "fish");
    }

    #[test]
    fn policy_applies_length_common_list_and_strength() {
        let policy = PasswordPolicy::default();
        let code =
            |pw: &str, ctx: &[&str]| policy.check(&Password::new(pw), "password", ctx).err().map(|e| e.code);
        assert_eq!(code("short", &[]), Some("password_too_short"));
        assert_eq!(code(&"x".repeat(1025), &[]), Some("password_too_long"));
        assert_eq!(code("Password1", &[]), Some("breached_password"));
        assert_eq!(code("abcdefgh1234", &[]), Some("weak_password"));
        assert_eq!(code("mauve-otter-ladder-19", &[]), None);
        // Built from the user's own email: guessable.
        assert_eq!(code("Oduyamargu", &["marguerite.oduya@example.com"]), Some("weak_password"));
        assert_eq!(code("Oduyamargu", &[]), None);
        let weak = policy.check(&Password::new("abcdefgh1234"), "password", &[]).unwrap_err();
        assert!(weak.message.starts_with("this password is too easy to guess"), "{}", weak.message);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let policy = PasswordPolicy { min_length: 8, min_strength: 0 };
        assert!(policy.check(&Password::new("ünïcödé!"), "password", &[]).is_ok());
        assert!(policy.check(&Password::new("ünïcödé"), "password", &[]).is_err());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_that_verify() {
        let hasher = cheap();
        let hash = hasher.hash(&Password::new("mauve-otter-ladder-19")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
        let ok = hasher.verify(&Password::new("mauve-otter-ladder-19"), &hash).await.unwrap();
        assert_eq!(ok, Verified { ok: true, needs_rehash: false });
        let bad = hasher.verify(&Password::new("mauve-otter-ladder-20"), &hash).await.unwrap();
        assert!(!bad.ok);
        assert!(!hasher.verify(&Password::new("x"), "not a hash").await.unwrap().ok);
        let invited = crate::accounts::user::INVITED_PASSWORD_HASH;
        for password in ["", "x", invited] {
            assert!(!hasher.verify(&Password::new(password), invited).await.unwrap().ok, "{password:?}");
        }
    }

    #[tokio::test]
    async fn an_unknown_account_costs_one_hash_at_the_configured_cost_and_never_matches() {
        let verifications = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&verifications);
        let hasher = cheap().with_observer(Arc::new(move |_| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
        // The stand-in hash names the configured algorithm and cost, so verifying
        // against it does the work of a real account's verification.
        let real = hasher.hash(&Password::new("mauve-otter-ladder-19")).await.unwrap();
        let (dummy, real) =
            (PasswordHash::new(&hasher.dummy_hash).unwrap(), PasswordHash::new(&real).unwrap());
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(Params::try_from(&dummy).unwrap(), Params::try_from(&real).unwrap());
        assert_eq!(dummy.salt.unwrap().as_ref().len(), real.salt.unwrap().as_ref().len());
        assert_eq!(dummy.hash.unwrap().as_bytes().len(), real.hash.unwrap().as_bytes().len());
        // Two hashers never share one (it is random, not derived from anything).
        assert_ne!(cheap().dummy_hash, hasher.dummy_hash);
        verifications.store(0, std::sync::atomic::Ordering::SeqCst);
        for password in ["", "mauve-otter-ladder-19", "x"] {
            hasher.verify_dummy(&Password::new(password)).await.unwrap();
            let verified = hasher.verify(&Password::new(password), &hasher.dummy_hash).await.unwrap();
            assert!(!verified.ok, "{password:?}");
        }
        assert_eq!(
            verifications.load(std::sync::atomic::Ordering::SeqCst),
            6,
            "one Argon2id per verification"
        );
    }

    #[tokio::test]
    async fn hashes_interoperate_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::PasswordVerifier as _;
        let hasher = cheap();
        let ours = hasher.hash(&Password::new("mauve-otter-ladder-19")).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2(&Params::new(256, 1, 1, None).unwrap())
                .verify_password(b"mauve-otter-ladder-19", &parsed)
                .is_ok()
        );
        assert!(argon2(&Params::new(256, 1, 1, None).unwrap()).verify_password(b"other", &parsed).is_err());
        let theirs = argon2(&Params::new(256, 1, 1, None).unwrap())
            .hash_password(b"mauve-otter-ladder-19")
            .unwrap()
            .to_string();
        assert!(hasher.verify(&Password::new("mauve-otter-ladder-19"), &theirs).await.unwrap().ok);
        assert!(!hasher.verify(&Password::new("mauve-otter-ladder-20"), &theirs).await.unwrap().ok);
        // An Argon2i hash from elsewhere verifies and asks to be upgraded to Argon2id.
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(256, 1, 1, None).unwrap())
            .hash_password(b"mauve-otter-ladder-19")
            .unwrap()
            .to_string();
        let v = hasher.verify(&Password::new("mauve-otter-ladder-19"), &argon2i).await.unwrap();
        assert_eq!(v, Verified { ok: true, needs_rehash: true });
    }

    #[tokio::test]
    async fn an_imported_hash_is_checked_as_typed_and_always_asks_for_a_rehash() {
        // A hash of "\u{FB01}sh" as typed (the ligature, not "fish").
        let hasher = cheap();
        let hash = pbkdf2_hex("\u{FB01}sh");
        let v = hasher.verify(&Password::new("\u{FB01}sh"), &hash).await.unwrap();
        assert_eq!(v, Verified { ok: true, needs_rehash: true });
        // The NFKC form is another password to the old application.
        assert!(!hasher.verify(&Password::new("fish"), &hash).await.unwrap().ok);
        let wrong = hasher.verify(&Password::new("\u{FB01}sk"), &hash).await.unwrap();
        assert!(!wrong.ok);
    }

    /// A Werkzeug `pbkdf2:sha256` hash of `password`'s UTF-8 bytes, salt "salt".
    fn pbkdf2_hex(password: &str) -> String {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), b"salt", 1000, &mut out);
        let hex = out.iter().fold(String::new(), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        });
        format!("pbkdf2:sha256:1000$salt${hex}")
    }

    #[tokio::test]
    async fn an_argon2_hash_of_the_password_as_typed_verifies_and_is_replaced() {
        let typed = argon2(&Params::new(256, 1, 1, None).unwrap())
            .hash_password("\u{FB01}sh".as_bytes())
            .unwrap()
            .to_string();
        let v = cheap().verify(&Password::new("\u{FB01}sh"), &typed).await.unwrap();
        assert_eq!(v, Verified { ok: true, needs_rehash: true });
    }

    #[tokio::test]
    async fn a_hash_made_at_another_cost_asks_for_a_rehash() {
        let old =
            PasswordHasher::new(HashCost { memory_kib: 128, iterations: 1, parallelism: 1 }, 1).unwrap();
        let hash = old.hash(&Password::new("mauve-otter-ladder-19")).await.unwrap();
        let v = cheap().verify(&Password::new("mauve-otter-ladder-19"), &hash).await.unwrap();
        assert_eq!(v, Verified { ok: true, needs_rehash: true });
    }
}
