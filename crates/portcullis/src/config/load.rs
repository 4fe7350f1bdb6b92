//! Loading the configuration (defaults, the TOML file, the environment) and
//! validating it, with every problem told as one line.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};

use std::time::Duration;

use super::{Config, DEFAULT_FILE, MailTransport};

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
            ("database.statement_timeout", self.database.statement_timeout),
            ("email.verification_ttl", self.email.verification_ttl),
            ("email.reset_ttl", self.email.reset_ttl),
            ("email.change_ttl", self.email.change_ttl),
            ("email.poll_interval", self.email.poll_interval),
            ("webhooks.poll_interval", self.webhooks.poll_interval),
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
        self.access.parse()?;
        super::providers::build(&self.identity_providers)?;
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
    let key = key_of(&e.path);
    let source = e.metadata.as_ref().map(|m| {
        if m.name.contains("environment") {
            // The variable is SECTION__KEY; anything deeper came from inside its value.
            let var = e.path.iter().take(2).map(|p| p.to_uppercase()).collect::<Vec<_>>().join("__");
            format!(" (from the environment variable PORTCULLIS_{var})")
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

/// `access.rules[0].path` for figment's path `access`, `rules`, `0`, `path`.
fn key_of(path: &[String]) -> String {
    let mut key = String::new();
    for part in path {
        if !key.is_empty() && !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            key.push('[');
            key.push_str(part);
            key.push(']');
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
    }
    key
}
