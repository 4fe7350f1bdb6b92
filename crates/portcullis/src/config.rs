//! The one typed configuration tree: defaults, then the TOML file, then
//! `PORTCULLIS_<SECTION>__<KEY>` environment variables. Unknown keys are errors.
//! Loaded and validated in one place; tests build a `Config` in code.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The default configuration file, read when present.
pub const DEFAULT_FILE: &str = "portcullis.toml";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub password: PasswordConfig,
    pub session: SessionConfig,
    pub email: EmailConfig,
    pub rate_limit: RateLimitConfig,
    pub ui: UiConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub audit: AuditConfig,
    pub security: SecurityConfig,
    pub tokens: TokensConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<IpNet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(deserialize_with = "list")]
    pub allowed_redirect_origins: Vec<String>,
    pub request_timeout: Dur,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            trusted_proxies: Vec::new(),
            tls_cert: None,
            tls_key: None,
            allowed_redirect_origins: Vec::new(),
            request_timeout: Dur::secs(30),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    pub auto_migrate: bool,
    pub max_connections: u32,
    pub connect_timeout: Dur,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://portcullis.db".into(),
            auto_migrate: true,
            max_connections: 16,
            connect_timeout: Dur::secs(5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub min_length: usize,
    pub min_strength: u8,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            min_length: 8,
            min_strength: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub idle_timeout: Dur,
    pub absolute_timeout: Dur,
    pub remember_me_timeout: Dur,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Dur::secs(2 * 3600),
            absolute_timeout: Dur::secs(24 * 3600),
            remember_me_timeout: Dur::secs(30 * 86_400),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    Log,
    File,
    Smtp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub transport: MailTransport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    pub from: String,
    pub require_verification: bool,
    pub verification_ttl: Dur,
    pub reset_ttl: Dur,
    pub change_ttl: Dur,
    /// How often the outbox worker looks for due mails queued elsewhere (other
    /// nodes, the CLI) and for retries; mails queued on this node go at once.
    pub poll_interval: Dur,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::Log,
            dir: None,
            smtp_url: None,
            from: "Portcullis <no-reply@localhost>".into(),
            require_verification: false,
            verification_ttl: Dur::secs(24 * 3600),
            reset_ttl: Dur::secs(3600),
            change_ttl: Dur::secs(24 * 3600),
            poll_interval: Dur::secs(5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub login_per_account: Rate,
    pub login_per_ip: Rate,
    pub register_per_ip: Rate,
    pub forgot_password_per_ip: Rate,
    pub forgot_password_per_email: Rate,
    pub tokens_per_ip: Rate,
    pub mfa_per_session: Rate,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            login_per_account: Rate::new(5, 15 * 60),
            login_per_ip: Rate::new(50, 15 * 60),
            register_per_ip: Rate::new(20, 3600),
            forgot_password_per_ip: Rate::new(20, 3600),
            forgot_password_per_email: Rate::new(3, 3600),
            tokens_per_ip: Rate::new(60, 60),
            mfa_per_session: Rate::new(5, 5 * 60),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Serve `/metrics` on this address only (not on `server.bind`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { enabled: true, bind: None }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Administrators must turn on MFA at their next sign-in before doing anything else.
    pub require_mfa_for_admins: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    /// Lifetime of JWT access tokens and ID tokens (at most 1d).
    pub access_ttl: Dur,
    /// Lifetime of each refresh token (every refresh issues a new one).
    pub refresh_ttl: Dur,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self { access_ttl: Dur::secs(600), refresh_ttl: Dur::secs(30 * 86_400) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// How long security events are kept.
    pub retention: Dur,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { retention: Dur::secs(365 * 86_400) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, level: "info".into() }
    }
}

/// A duration written like `90s`, `15m`, `2h` or `30d` (or a number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.subsec_nanos() != 0 {
            return write!(f, "{}ms", self.0.as_millis());
        }
        let s = self.0.as_secs();
        let (n, unit) = match s {
            0 => (0, "s"),
            s if s % 86_400 == 0 => (s / 86_400, "d"),
            s if s % 3600 == 0 => (s / 3600, "h"),
            s if s % 60 == 0 => (s / 60, "m"),
            s => (s, "s"),
        };
        write!(f, "{n}{unit}")
    }
}

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(secs) = s.trim().parse::<u64>() {
            return Ok(Self::secs(secs));
        }
        humantime::parse_duration(s.trim())
            .map(Self)
            .map_err(|_| format!("invalid duration {s:?} (use e.g. 90s, 15m, 2h, 30d)"))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Self::secs(s)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A limit written `"COUNT/WINDOW"`, e.g. `"5/15m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub window: Dur,
}

impl Rate {
    pub const fn new(count: u32, window_secs: u64) -> Self {
        Self { count, window: Dur::secs(window_secs) }
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid rate {s:?} (use COUNT/WINDOW, e.g. \"5/15m\")");
        let (count, window) = s.split_once('/').ok_or_else(bad)?;
        let count = count.trim().parse::<u32>().map_err(|_| bad())?;
        let window: Dur = window.parse().map_err(|_| bad())?;
        if count == 0 || window.0.is_zero() {
            return Err(bad());
        }
        Ok(Self { count, window })
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}/{}", self.count, self.window))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A list given as a TOML array or as a comma-separated string (environment).
fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(v) => v,
        Raw::Text(t) => t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.parse::<T>().map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}"))))
        .collect()
}

/// A configuration problem, shown as one line: `key: what is wrong`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Defaults, overlaid by `file` (or `portcullis.toml` when present), overlaid by
    /// the environment; then validated.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError(format!(
                        "--config: cannot read {:?}: no such file",
                        path.display().to_string()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new(DEFAULT_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_FILE));
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed("PORTCULLIS_").split("__"));
        let config: Config = figment.extract().map_err(|e| ConfigError(describe(&e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &str, msg: String| Err(ConfigError(format!("{key}: {msg}")));
        if parse_bind(&self.server.bind).is_none() {
            return err(
                "server.bind",
                format!("{:?} is not an address like 127.0.0.1:8080 or :0", self.server.bind),
            );
        }
        if let Some(url) = &self.server.public_url
            && let Err(e) = portcullis_web::PublicUrl::parse(url)
        {
            return Err(ConfigError(e.to_string()));
        }
        match (&self.server.tls_cert, &self.server.tls_key) {
            (Some(_), None) => return err("server.tls_key", "required when server.tls_cert is set".into()),
            (None, Some(_)) => return err("server.tls_cert", "required when server.tls_key is set".into()),
            _ => {}
        }
        for origin in &self.server.allowed_redirect_origins {
            if portcullis_web::paths::origin_of(origin).as_deref()
                != Some(origin.trim_end_matches('/').to_lowercase().as_str())
            {
                return err(
                    "server.allowed_redirect_origins",
                    format!("{origin:?} is not an origin like https://app.example.com"),
                );
            }
        }
        if self.database.max_connections == 0 {
            return err("database.max_connections", "must be at least 1".into());
        }
        let p = &self.password;
        if let Err(e) =
            argon2::Params::new(p.argon2_memory_kib, p.argon2_iterations, p.argon2_parallelism, None)
        {
            return err("password.argon2_memory_kib", format!("invalid Argon2 parameters: {e}"));
        }
        if !(1..=1024).contains(&p.min_length) {
            return err("password.min_length", "must be between 1 and 1024".into());
        }
        if p.min_strength > 4 {
            return err("password.min_strength", "must be a zxcvbn score from 0 (off) to 4".into());
        }
        for (key, d) in [
            ("session.idle_timeout", self.session.idle_timeout),
            ("session.absolute_timeout", self.session.absolute_timeout),
            ("session.remember_me_timeout", self.session.remember_me_timeout),
            ("server.request_timeout", self.server.request_timeout),
            ("database.connect_timeout", self.database.connect_timeout),
            ("email.verification_ttl", self.email.verification_ttl),
            ("email.reset_ttl", self.email.reset_ttl),
            ("email.change_ttl", self.email.change_ttl),
            ("email.poll_interval", self.email.poll_interval),
            ("tokens.access_ttl", self.tokens.access_ttl),
            ("tokens.refresh_ttl", self.tokens.refresh_ttl),
        ] {
            if d.0.is_zero() {
                return err(key, "must be longer than 0s".into());
            }
        }
        if self.tokens.access_ttl.0 > Duration::from_secs(86_400) {
            return err(
                "tokens.access_ttl",
                "must be at most 1d (signing keys stay published 2 days after rotation)".into(),
            );
        }
        if self.email.transport == MailTransport::Smtp && self.email.smtp_url.is_none() {
            return err("email.smtp_url", "required when email.transport = \"smtp\"".into());
        }
        if self.email.transport == MailTransport::File && self.email.dir.is_none() {
            return err("email.dir", "required when email.transport = \"file\"".into());
        }
        if let Some(bind) = &self.metrics.bind
            && parse_bind(bind).is_none()
        {
            return err("metrics.bind", format!("{bind:?} is not an address like 127.0.0.1:9100"));
        }
        if self.audit.retention.0.is_zero() {
            return err("audit.retention", "must be longer than 0s".into());
        }
        crate::mail::parse_from(&self.email.from).map_err(ConfigError)?;
        if let Some(url) = &self.email.smtp_url {
            crate::mail::smtp::SmtpSettings::parse(url).map_err(ConfigError)?;
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return err("log.level", format!("{:?} is not a log level or filter", self.log.level));
        }
        Ok(())
    }

    /// The metrics listen address, when metrics have their own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.bind.as_deref().and_then(parse_bind)
    }

    /// The listen address (`:PORT` means every interface).
    pub fn bind_addr(&self) -> SocketAddr {
        parse_bind(&self.server.bind).expect("validated")
    }
}

fn parse_bind(raw: &str) -> Option<SocketAddr> {
    if let Some(port) = raw.strip_prefix(':') {
        return port.parse::<u16>().ok().map(|p| SocketAddr::from(([0, 0, 0, 0], p)));
    }
    raw.parse().ok()
}

/// One line for a figment error: `section.key: problem (from where)`.
fn describe(e: &figment::Error) -> String {
    let e = e.clone().into_iter().next().unwrap_or_else(|| e.clone());
    let key = e.path.join(".");
    let source = e.metadata.as_ref().map(|m| {
        if m.name.contains("environment") {
            let var = format!("PORTCULLIS_{}", key.replacen('.', "__", 1).to_uppercase());
            format!(" (from the environment variable {var})")
        } else {
            m.source.as_ref().map(|s| format!(" (from {s})")).unwrap_or_default()
        }
    });
    let what = match &e.kind {
        figment::error::Kind::UnknownField(field, _) => {
            let full = if key.is_empty() {
                field.clone()
            } else if key == *field || key.ends_with(&format!(".{field}")) {
                key.clone()
            } else {
                format!("{key}.{field}")
            };
            return format!("{full}: unknown configuration key{}", source.unwrap_or_default());
        }
        kind => kind.to_string(),
    };
    if key.is_empty() {
        format!("{what}{}", source.unwrap_or_default())
    } else {
        format!("{key}: {what}{}", source.unwrap_or_default())
    }
}

/// The documented default configuration, as printed by `portcullis config default`.
pub const DEFAULT_TOML: &str = include_str!("default.toml");
