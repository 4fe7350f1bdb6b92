//! Password hashes made by other applications (SPEC §9), accepted at import as
//! they are and verified natively until the first sign-in replaces them with
//! Argon2id: Werkzeug's `pbkdf2:` and `scrypt:`, bcrypt, Django's `pbkdf2_sha256`,
//! passlib's `$pbkdf2-sha256$`, and Argon2 PHC strings (verified by `password.rs`).
//!
//! Every primitive is a RustCrypto crate (`pbkdf2`, `scrypt`, `argon2`) or the
//! `bcrypt` crate (RustCrypto's `blowfish` underneath); the comparison is
//! constant-time. Parameters are bounded ([`check`]) so that an imported hash
//! cannot make one sign-in allocate gigabytes or spin for minutes.

use base64::Engine as _;
use subtle::ConstantTimeEq as _;

/// Most PBKDF2 iterations accepted (Django 5 uses 1,000,000; Werkzeug 3 600,000).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Most memory one scrypt or Argon2 verification may take (Werkzeug 3's scrypt
/// default, N = 32768, r = 8, takes 32 MiB).
pub const MAX_MEMORY_BYTES: u64 = 256 * 1024 * 1024;
/// Highest bcrypt cost accepted (2^16 rounds: a few seconds per sign-in).
pub const MAX_BCRYPT_COST: u32 = 16;
/// Highest scrypt or Argon2 parallelism accepted: each lane is computed one after
/// the other on the hashing thread, so `p` multiplies the time of a sign-in.
pub const MAX_PARALLELISM: u32 = 16;
/// Most Argon2 passes accepted.
pub const MAX_ARGON2_ITERATIONS: u32 = 64;

/// Why a stored hash cannot be imported: one sentence for `line N: password_hash: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HashFormatError(String);

fn refuse(message: impl Into<String>) -> HashFormatError {
    HashFormatError(message.into())
}

/// A parsed hash of another application.
enum Legacy {
    /// Werkzeug `pbkdf2:sha256:ITER$salt$hex`: the salt string's UTF-8 bytes.
    Pbkdf2 { digest: Digest, iterations: u32, salt: Vec<u8>, expected: Vec<u8> },
    /// Werkzeug `scrypt:N:r:p$salt$hex` (64-byte output).
    Scrypt { log_n: u8, r: u32, p: u32, salt: Vec<u8>, expected: Vec<u8> },
    /// `$2a$`, `$2b$`, `$2y$`: the whole string, for the bcrypt crate.
    Bcrypt(String),
}

#[derive(Clone, Copy)]
enum Digest {
    Sha256,
    Sha512,
}

impl Digest {
    fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// Whether `hash` is a format Portcullis accepts at import, within bounds: the
/// import refuses a line whose hash is not.
pub fn check(hash: &str) -> Result<(), HashFormatError> {
    if hash.starts_with("$argon2") {
        return check_argon2(hash);
    }
    parse(hash).map(|_| ())
}

/// Verifies `password` (as typed: the old application did not normalise it)
/// against a hash of another application; `None` when `hash` is not one (an
/// Argon2 PHC string, a marker, or garbage).
pub(crate) fn verify(hash: &str, password: &[u8]) -> Option<bool> {
    if hash.starts_with("$argon2") {
        return None;
    }
    let legacy = parse(hash).ok()?;
    Some(match legacy {
        Legacy::Pbkdf2 { digest, iterations, salt, expected } => {
            let mut out = vec![0u8; expected.len()];
            match digest {
                Digest::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &salt, iterations, &mut out),
                Digest::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, &salt, iterations, &mut out),
            }
            out.ct_eq(&expected).into()
        }
        Legacy::Scrypt { log_n, r, p, salt, expected } => {
            let Ok(params) = scrypt::Params::new(log_n, r, p) else { return Some(false) };
            let mut out = vec![0u8; expected.len()];
            scrypt::scrypt(password, &salt, &params, &mut out).is_ok() && bool::from(out.ct_eq(&expected))
        }
        // Truncates at 72 bytes, as every bcrypt that made these hashes did.
        Legacy::Bcrypt(full) => bcrypt::verify(password, &full).unwrap_or(false),
    })
}

fn parse(hash: &str) -> Result<Legacy, HashFormatError> {
    if let Some(rest) = hash.strip_prefix("pbkdf2:") {
        return werkzeug_pbkdf2(rest);
    }
    if let Some(rest) = hash.strip_prefix("scrypt:") {
        return werkzeug_scrypt(rest);
    }
    if let Some(rest) = hash.strip_prefix("pbkdf2_sha256$") {
        return django(rest);
    }
    if let Some(rest) = hash.strip_prefix("$pbkdf2-sha256$") {
        return passlib(rest);
    }
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        return bcrypt_hash(hash);
    }
    Err(refuse(
        "unknown hash format (accepted: Werkzeug pbkdf2:/scrypt:, bcrypt $2a$/$2b$/$2y$, \
         Django pbkdf2_sha256$, passlib $pbkdf2-sha256$, $argon2id$/$argon2i$)",
    ))
}

/// `sha256:ITER$salt$hex` (after `pbkdf2:`).
fn werkzeug_pbkdf2(rest: &str) -> Result<Legacy, HashFormatError> {
    let (method, salt, hex) = three_parts(rest, "pbkdf2:DIGEST:ITERATIONS$salt$hex")?;
    let Some((digest, iterations)) = method.split_once(':') else {
        // Werkzeug before 1.0 left the count out and used its default of the day.
        return Err(refuse("Werkzeug pbkdf2 hash without an iteration count (pbkdf2:DIGEST:ITERATIONS)"));
    };
    let digest = match digest {
        "sha256" => Digest::Sha256,
        "sha512" => Digest::Sha512,
        other => {
            return Err(refuse(format!(
                "Werkzeug pbkdf2 digest {other:?} is not supported (sha256, sha512)"
            )));
        }
    };
    let iterations = pbkdf2_iterations(iterations)?;
    let expected = decode_hex(hex)?;
    if expected.len() != digest.len() {
        return Err(refuse(format!("the hash must be {} hex digits", digest.len() * 2)));
    }
    Ok(Legacy::Pbkdf2 { digest, iterations, salt: salt.as_bytes().to_vec(), expected })
}

/// `N:r:p$salt$hex` (after `scrypt:`).
fn werkzeug_scrypt(rest: &str) -> Result<Legacy, HashFormatError> {
    let (method, salt, hex) = three_parts(rest, "scrypt:N:r:p$salt$hex")?;
    let numbers: Vec<&str> = method.split(':').collect();
    let [n, r, p] = numbers[..] else {
        return Err(refuse("Werkzeug scrypt hash without N:r:p (scrypt:N:r:p$salt$hex)"));
    };
    let number = |s: &str, name: &str| {
        s.parse::<u64>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| refuse(format!("scrypt {name} must be a positive integer")))
    };
    let (n, r, p) = (number(n, "N")?, number(r, "r")?, number(p, "p")?);
    if n < 2 || !n.is_power_of_two() {
        return Err(refuse("scrypt N must be a power of two"));
    }
    let memory = 128u64.saturating_mul(n).saturating_mul(r);
    if memory > MAX_MEMORY_BYTES {
        return Err(refuse(format!(
            "scrypt parameters need {} MiB (128 × N × r); at most {} MiB is accepted",
            memory / (1024 * 1024),
            MAX_MEMORY_BYTES / (1024 * 1024)
        )));
    }
    let p = u32::try_from(p).ok().filter(|p| *p <= MAX_PARALLELISM);
    let Some(p) = p else { return Err(refuse(format!("scrypt p over {MAX_PARALLELISM} is refused"))) };
    let r = u32::try_from(r).map_err(|_| refuse("scrypt r is too large"))?;
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| refuse("scrypt N is too large"))?;
    scrypt::Params::new(log_n, r, p).map_err(|e| refuse(format!("invalid scrypt parameters: {e}")))?;
    let expected = decode_hex(hex)?;
    if expected.len() != 64 {
        return Err(refuse("the hash must be 128 hex digits"));
    }
    Ok(Legacy::Scrypt { log_n, r, p, salt: salt.as_bytes().to_vec(), expected })
}

/// `ITER$salt$base64` (after `pbkdf2_sha256$`).
fn django(rest: &str) -> Result<Legacy, HashFormatError> {
    let (iterations, salt, b64) = three_parts(rest, "pbkdf2_sha256$ITERATIONS$salt$base64")?;
    let iterations = pbkdf2_iterations(iterations)?;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| refuse("the hash is not valid base64"))?;
    if expected.len() != 32 {
        return Err(refuse("the hash must be 32 bytes of base64"));
    }
    Ok(Legacy::Pbkdf2 { digest: Digest::Sha256, iterations, salt: salt.as_bytes().to_vec(), expected })
}

/// `ITER$salt$hash` (after `$pbkdf2-sha256$`), salt and hash in passlib's "ab64":
/// base64 with `.` for `+` and no padding; the salt is raw bytes.
fn passlib(rest: &str) -> Result<Legacy, HashFormatError> {
    let (iterations, salt, hash) = three_parts(rest, "$pbkdf2-sha256$ITERATIONS$salt$hash")?;
    let iterations = pbkdf2_iterations(iterations)?;
    let ab64 = |s: &str, what: &str| {
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
        );
        engine.decode(s.replace('.', "+")).map_err(|_| refuse(format!("the {what} is not valid ab64")))
    };
    let salt = ab64(salt, "salt")?;
    let expected = ab64(hash, "hash")?;
    if expected.len() != 32 {
        return Err(refuse("the hash must be 32 bytes of ab64"));
    }
    Ok(Legacy::Pbkdf2 { digest: Digest::Sha256, iterations, salt, expected })
}

fn bcrypt_hash(hash: &str) -> Result<Legacy, HashFormatError> {
    let cost = hash
        .get(4..6)
        .filter(|_| hash.get(6..7) == Some("$"))
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or_else(|| refuse("malformed bcrypt hash ($2b$COST$ and 53 characters)"))?;
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(refuse(format!("bcrypt cost {cost} is outside 4..={MAX_BCRYPT_COST}")));
    }
    let body = &hash[7..];
    let alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'/';
    if body.len() != 53 || !body.bytes().all(alphabet) {
        return Err(refuse("malformed bcrypt hash (53 characters of bcrypt's base64 after the cost)"));
    }
    Ok(Legacy::Bcrypt(hash.to_owned()))
}

fn check_argon2(hash: &str) -> Result<(), HashFormatError> {
    let parsed =
        argon2::PasswordHash::new(hash).map_err(|e| refuse(format!("malformed Argon2 PHC string: {e}")))?;
    if parsed.algorithm != argon2::ARGON2ID_IDENT && parsed.algorithm != argon2::ARGON2I_IDENT {
        return Err(refuse("only $argon2id$ and $argon2i$ are accepted"));
    }
    let params =
        argon2::Params::try_from(&parsed).map_err(|e| refuse(format!("invalid Argon2 parameters: {e}")))?;
    if u64::from(params.m_cost()) * 1024 > MAX_MEMORY_BYTES {
        return Err(refuse(format!(
            "Argon2 memory over {} MiB is refused",
            MAX_MEMORY_BYTES / (1024 * 1024)
        )));
    }
    if params.t_cost() > MAX_ARGON2_ITERATIONS || params.p_cost() > MAX_PARALLELISM {
        return Err(refuse(format!(
            "Argon2 t over {MAX_ARGON2_ITERATIONS} or p over {MAX_PARALLELISM} is refused"
        )));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(refuse("Argon2 PHC string without salt or hash"));
    }
    Ok(())
}

/// `a$b$c`, none empty, the last without a `$`.
fn three_parts<'a>(rest: &'a str, shape: &str) -> Result<(&'a str, &'a str, &'a str), HashFormatError> {
    let mut parts = rest.splitn(3, '$');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), Some(c))
            if !a.is_empty() && !b.is_empty() && !c.is_empty() && !c.contains('$') =>
        {
            Ok((a, b, c))
        }
        _ => Err(refuse(format!("malformed hash (expected {shape})"))),
    }
}

fn pbkdf2_iterations(raw: &str) -> Result<u32, HashFormatError> {
    let n: u64 = raw.parse().map_err(|_| refuse("the iteration count is not a number"))?;
    if n == 0 || n > u64::from(MAX_PBKDF2_ITERATIONS) {
        return Err(refuse(format!("PBKDF2 iterations must be 1..={MAX_PBKDF2_ITERATIONS}")));
    }
    u32::try_from(n).map_err(|_| refuse("the iteration count is too large"))
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, HashFormatError> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    if !hex.len().is_multiple_of(2) {
        return Err(refuse("the hash is not hex"));
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| refuse("the hash is not hex"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with Python's hashlib exactly as Werkzeug, Django and passlib call it
    // (the integration tests run the libraries themselves).
    const PASSWORD: &str = "correct horse ✓";
    const VECTORS: [&str; 5] = [
        "pbkdf2:sha256:1000$AbCdEfGh12345678$fc9348f9599cbd88b45fd1011e353b0d166c5ebacdc107ec3a3efdd9585dc3af",
        "pbkdf2:sha512:1000$AbCdEfGh12345678$fade8067ee27dbe85618d4bd32199002abec31c4759d5b2fd2488fce3f234a00b2a6434aa6e191fd43fd9cd8798834a546c507943772bec4199de324a89ea641",
        "scrypt:1024:8:1$AbCdEfGh12345678$6d5ad9d01c5c4a563517eb5f45c3daa35bb1ab625c9d67e845afda62c760373941478d56ecb6a3488fa2f112a778774e53068eb1fb70e00e4e87fa3c0bcbe472",
        "pbkdf2_sha256$1000$AbCdEfGh12345678$/JNI+VmcvYi0X9EBHjU7DRZsXrrNwQfsOj792Vhdw68=",
        "$pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw$yLgziMJLXUKzG99wWsh7eOGToZVEF/1XH9.6xoFOyqI",
    ];

    #[test]
    fn each_format_verifies_the_right_password_and_refuses_a_wrong_one() {
        for hash in VECTORS {
            assert_eq!(check(hash), Ok(()), "{hash}");
            assert_eq!(verify(hash, PASSWORD.as_bytes()), Some(true), "{hash}");
            assert_eq!(verify(hash, b"correct horse"), Some(false), "{hash}");
        }
        // OpenBSD's own test vector.
        let bcrypt = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        assert_eq!(check(bcrypt), Ok(()));
        assert_eq!(verify(bcrypt, b"U*U"), Some(true));
        assert_eq!(verify(bcrypt, b"U*V"), Some(false));
    }

    #[test]
    fn a_changed_digit_of_the_stored_hash_no_longer_verifies() {
        for hash in VECTORS {
            let last = hash.chars().last().unwrap();
            let other = if last == 'a' { 'b' } else { 'a' };
            let tampered = format!("{}{other}", &hash[..hash.len() - 1]);
            assert_ne!(verify(&tampered, PASSWORD.as_bytes()), Some(true), "{tampered}");
        }
    }

    #[test]
    fn parameters_past_the_bounds_are_refused_at_import() {
        let salt_hex = format!("salt${}", "00".repeat(64));
        let too_big = [
            format!("scrypt:1048576:8:1${salt_hex}"),
            format!("scrypt:16384:8:17${salt_hex}"),
            format!("pbkdf2:sha256:10000001$salt${}", "00".repeat(32)),
            format!("pbkdf2_sha256$4000000000$salt${}", "A".repeat(44)),
            "$2b$17$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW".to_owned(),
            "$argon2id$v=19$m=524288,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".to_owned(),
        ];
        for hash in &too_big {
            assert!(check(hash).is_err(), "{hash}");
        }
        assert!(check(&format!("scrypt:262144:8:1${salt_hex}")).is_ok(), "256 MiB is within the bound");
        assert!(check(&format!("scrypt:524288:8:1${salt_hex}")).unwrap_err().0.contains("512 MiB"));
    }

    #[test]
    fn unknown_or_malformed_formats_are_refused() {
        for hash in [
            "",
            "plaintext",
            "md5$abc$def",
            "pbkdf2:sha256$salt$abcd",
            "pbkdf2:sha1:1000$salt$abcd",
            "pbkdf2:sha256:1000$salt$zz",
            "scrypt:1000:8:1$salt$00",
            "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2b$05$short",
            "$argon2d$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$pbkdf2-sha512$1000$AAEC$AAEC",
            "!invited",
        ] {
            assert!(check(hash).is_err(), "{hash:?}");
            assert_ne!(verify(hash, b"x"), Some(true), "{hash:?}");
        }
    }
}
