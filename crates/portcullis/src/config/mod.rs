//! The one typed configuration tree: defaults, then the TOML file, then
//! `PORTCULLIS_<SECTION>__<KEY>` environment variables. Unknown keys are errors.
//! Loaded and validated in one place; tests build a `Config` in code.

mod load;
pub mod providers;
mod values;

use std::path::PathBuf;

use ipnet::IpNet;
use portcullis_core::access::{AccessRules, RawRule};
use serde::{Deserialize, Serialize};

pub use load::ConfigError;
use values::list;
pub use values::{Dur, Rate};

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
    pub auth: AuthMethodsConfig,
    pub tokens: TokensConfig,
    pub access: AccessConfig,
    pub webhooks: WebhooksConfig,
    /// `[[identity_providers]]`: upstream sign-in (SPEC §10).
    pub identity_providers: Vec<providers::IdentityProviderConfig>,
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
    /// Bounds connecting and waiting for a pooled connection.
    pub connect_timeout: Dur,
    /// Bounds every database operation (on PostgreSQL, every statement on the
    /// server too); past it the database counts as unavailable.
    pub statement_timeout: Dur,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://portcullis.db".into(),
            auto_migrate: true,
            max_connections: 16,
            connect_timeout: Dur::secs(1),
            statement_timeout: Dur::secs(1),
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
    /// Sign-in links and codes asked for per address typed (issue #21).
    pub email_signin_per_address: Rate,
    /// Sign-in links and codes asked for per client address.
    pub email_signin_per_ip: Rate,
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
            email_signin_per_address: Rate::new(3, 15 * 60),
            email_signin_per_ip: Rate::new(20, 3600),
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Administrators must turn on MFA at their next sign-in before doing anything else.
    pub require_mfa_for_admins: bool,
    /// Mail the user at a sign-in from a device the account has not used before.
    pub new_device_notice: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self { require_mfa_for_admins: false, new_device_notice: true }
    }
}

/// `[webhooks]`: signed notices of account events to the operator's endpoints
/// (issue #22, docs/webhooks.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Hosts (names or IP literals) an endpoint may reach over plain `http://`
    /// and at a private, loopback or link-local address, e.g. a receiver on
    /// `127.0.0.1` in development.
    #[serde(deserialize_with = "list")]
    pub allow_http_hosts: Vec<String>,
    /// How often the webhook worker looks for deliveries queued by other nodes or
    /// the CLI, and for retries that are due.
    pub poll_interval: Dur,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self { allow_http_hosts: Vec::new(), poll_interval: Dur::secs(5) }
    }
}

/// `[auth]`: ways of signing in besides a password.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthMethodsConfig {
    /// Offer "Email me a sign-in link" (a link and a 6-digit code by mail).
    pub email_signin: bool,
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

/// Forward-auth access rules (SPEC §7), as written; [`AccessConfig::parse`] checks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// The policy when no rule matches: public, signed_in, two_factor or deny.
    pub default_policy: String,
    /// `[[access.rules]]`, first match wins.
    #[serde(deserialize_with = "values::rules")]
    pub rules: Vec<RawRule>,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self { default_policy: "signed_in".into(), rules: Vec::new() }
    }
}

impl AccessConfig {
    /// The checked rules; the error names the key (`access.rules[2].path: ...`).
    pub fn parse(&self) -> Result<AccessRules, ConfigError> {
        AccessRules::parse(&self.rules, &self.default_policy).map_err(ConfigError)
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

/// The documented default configuration, as printed by `portcullis config default`.
pub const DEFAULT_TOML: &str = include_str!("../default.toml");
