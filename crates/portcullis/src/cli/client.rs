//! `portcullis client ...`: register, list and delete OAuth 2.0 / OpenID Connect
//! clients. A confidential client's secret is printed once and stored hashed.

use clap::Subcommand;
use portcullis_core::audit::ActedBy;
use portcullis_core::oauth::{Client, ClientFlags};
use portcullis_core::{Auth, AuthError};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints `client_id: ...` and (unless --public) `client_secret: ...` once.
    Create {
        #[arg(long)]
        name: String,
        /// An exact redirect URI; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (browser or mobile app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Trusted: users are not asked for consent.
        #[arg(long)]
        first_party: bool,
        /// May introspect every token, not only those issued to it (an API that
        /// accepts other clients' tokens). Confidential clients only.
        #[arg(long)]
        resource_server: bool,
        #[arg(long)]
        json: bool,
    },
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a client and every code, consent and token issued to it.
    Delete { client_id: String },
}

#[derive(Serialize)]
struct ClientJson<'a> {
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    name: &'a str,
    redirect_uris: &'a [String],
    public: bool,
    first_party: bool,
    resource_server: bool,
    created_at: String,
}

fn to_json<'a>(c: &'a Client, secret: Option<&'a str>) -> ClientJson<'a> {
    ClientJson {
        client_id: &c.id,
        client_secret: secret,
        name: &c.name,
        redirect_uris: &c.redirect_uris,
        public: c.public,
        first_party: c.first_party,
        resource_server: c.resource_server,
        created_at: c.created_at.format(&Rfc3339).unwrap_or_default(),
    }
}

/// Flags, not fields, name the invalid input (`--redirect-uri: ...`).
fn failure(e: AuthError) -> Failure {
    match e {
        AuthError::Validation(errors) => Failure::usage(
            errors
                .iter()
                .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => super::auth_failure(other),
    }
}

pub async fn run(config: &Config, cmd: ClientCommand) -> Result<(), Failure> {
    super::with_auth(config, async |auth| dispatch(auth, cmd).await).await
}

async fn dispatch(auth: &Auth, cmd: ClientCommand) -> Result<(), Failure> {
    match cmd {
        ClientCommand::Create { name, redirect_uris, public, first_party, resource_server, json } => {
            let flags = ClientFlags { public, first_party, resource_server };
            let created =
                auth.create_client(&name, &redirect_uris, flags, &ActedBy::cli()).await.map_err(failure)?;
            let secret = created.secret.as_ref().map(portcullis_core::SecretToken::expose);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&to_json(&created.client, secret)).unwrap_or_default()
                );
            } else {
                println!("client_id: {}", created.client.id);
                if let Some(secret) = secret {
                    println!("client_secret: {secret}");
                }
            }
        }
        ClientCommand::List { json } => {
            let clients = auth.list_clients().await.map_err(failure)?;
            if json {
                let list: Vec<_> = clients.iter().map(|c| to_json(c, None)).collect();
                println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
            } else {
                println!(
                    "{:<32}  {:<24}  {:<12}  {:<11}  {:<15}  REDIRECT URIS",
                    "CLIENT ID", "NAME", "TYPE", "FIRST-PARTY", "RESOURCE-SERVER"
                );
                let yes_no = |b: bool| if b { "yes" } else { "no" };
                for c in &clients {
                    println!(
                        "{:<32}  {:<24}  {:<12}  {:<11}  {:<15}  {}",
                        c.id,
                        c.name,
                        if c.public { "public" } else { "confidential" },
                        yes_no(c.first_party),
                        yes_no(c.resource_server),
                        c.redirect_uris.join(" ")
                    );
                }
            }
        }
        ClientCommand::Delete { client_id } => {
            if !auth.delete_client(&client_id, &ActedBy::cli()).await.map_err(failure)? {
                return Err(Failure::runtime(format!("no client with id {client_id:?}")));
            }
            println!("deleted client {client_id}");
        }
    }
    Ok(())
}
