//! `portcullis keys ...`: token signing keys.

use std::sync::Arc;

use clap::Subcommand;
use portcullis_core::SystemClock;
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
    let db = startup::open_database(config, config.database.auto_migrate).await?;
    let public_url = startup::configured_public_url(config)?;
    let auth = startup::build_auth(config, &db, Arc::new(SystemClock), &public_url)?;
    let result = async {
        let auth = startup::with_keys(auth).await?;
        match cmd {
            KeysCommand::Rotate => {
                let key = auth.rotate_signing_keys().await.map_err(|e| Failure::runtime(e.to_string()))?;
                println!("new signing key {} ({}); running nodes use it within 60 s", key.kid, key.alg);
            }
            KeysCommand::List => {
                let keys = auth.signing_keys().await.map_err(|e| Failure::runtime(e.to_string()))?;
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
    }
    .await;
    db.close().await;
    result
}
