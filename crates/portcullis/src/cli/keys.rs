//! `portcullis keys ...`: token signing keys.

use clap::Subcommand;
use portcullis_core::audit::ActedBy;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use crate::config::Config;
use crate::startup;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key. Running nodes sign with it within 60 s; the old keys
    /// stay published (and keep verifying) until every token they signed expired.
    Rotate,
    /// List the published keys (never their private parts).
    List,
}

pub async fn run(config: &Config, cmd: KeysCommand) -> Result<(), Failure> {
    super::with_auth(config, async |auth| {
        startup::load_signing_keys(auth).await?;
        match cmd {
            KeysCommand::Rotate => {
                let key = auth.rotate_signing_key(&ActedBy::cli()).await.map_err(super::auth_failure)?;
                println!("new signing key {} ({}); running nodes use it within 60 s", key.kid, key.alg);
            }
            KeysCommand::List => {
                let keys = auth.keys().list().await.map_err(super::auth_failure)?;
                println!("{:<16}  {:<6}  {:<25}  RETIRED", "KID", "ALG", "CREATED");
                for k in keys {
                    let fmt = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
                    println!(
                        "{:<16}  {:<6}  {:<25}  {}",
                        k.kid,
                        k.alg,
                        fmt(k.created_at),
                        k.retired_at.map_or_else(|| "-".to_owned(), fmt)
                    );
                }
            }
        }
        Ok(())
    })
    .await
}
