//! `portcullis webhook ...`: register, list, delete and test webhook endpoints
//! (issue #22, docs/webhooks.md). The signing secret is printed once, by `create`.

use clap::{ArgGroup, Subcommand};
use portcullis_core::audit::ActedBy;
use portcullis_core::webhooks::{Endpoint, EventFilter, EventType, WebhookSender};
use portcullis_core::{Auth, AuthError};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint; prints its `id: ...` and `secret: whsec_...` once.
    #[command(group(ArgGroup::new("which").required(true).args(["events", "all"])))]
    Create {
        /// https:// URL (http:// only to a host in webhooks.allow_http_hosts).
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (user.created, user.deleted, ...).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Every event type, including types added later.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// List endpoints.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete an endpoint and the deliveries still waiting for it.
    Delete {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Send a signed `webhook.test` event to the endpoint now and show its answer.
    Test {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct EndpointJson<'a> {
    id: &'a str,
    url: &'a str,
    events: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    created_at: String,
}

fn to_json<'a>(e: &'a Endpoint, secret: Option<&'a str>) -> EndpointJson<'a> {
    EndpointJson {
        id: &e.id,
        url: &e.url,
        events: e.events.names(),
        secret,
        created_at: e.created_at.format(&Rfc3339).unwrap_or_default(),
    }
}

fn print_json(value: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// `--events` names, each a known type.
fn parse_events(names: &[String], all: bool) -> Result<EventFilter, Failure> {
    if all {
        return Ok(EventFilter::All);
    }
    let mut types = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let Some(t) = EventType::parse(name) else {
            let known: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            return Err(Failure::usage(format!(
                "--events: unknown type {name:?} (known: {})",
                known.join(", ")
            )));
        };
        if !types.contains(&t) {
            types.push(t);
        }
    }
    Ok(EventFilter::Only(types))
}

/// Fields, as flags (`--url: ...`).
fn failure(e: AuthError) -> Failure {
    match e {
        AuthError::Validation(errors) => Failure::usage(
            errors.iter().map(|e| format!("--{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "),
        ),
        other => super::auth_failure(other),
    }
}

pub async fn run(config: &Config, cmd: WebhookCommand) -> Result<(), Failure> {
    let sender = crate::startup::webhook_sender(config)?;
    super::with_auth(config, async |auth| dispatch(auth, &*sender, cmd).await).await
}

async fn dispatch(auth: &Auth, sender: &dyn WebhookSender, cmd: WebhookCommand) -> Result<(), Failure> {
    match cmd {
        WebhookCommand::Create { url, events, all, json } => {
            let events = parse_events(&events, all)?;
            let created =
                auth.create_webhook(sender, &url, events, &ActedBy::cli()).await.map_err(failure)?;
            if json {
                print_json(&to_json(&created.endpoint, Some(created.secret.expose())));
            } else {
                println!("id: {}", created.endpoint.id);
                println!("secret: {}", created.secret.expose());
            }
        }
        WebhookCommand::List { json } => {
            let endpoints = auth.list_webhooks().await.map_err(failure)?;
            if json {
                print_json(&endpoints.iter().map(|e| to_json(e, None)).collect::<Vec<_>>());
            } else {
                println!("{:<35}  {:<20}  {:<40}  EVENTS", "ID", "CREATED", "URL");
                for e in &endpoints {
                    let created = e.created_at.format(&Rfc3339).unwrap_or_default();
                    println!("{:<35}  {:<20}  {:<40}  {}", e.id, created, e.url, e.events.names().join(","));
                }
            }
        }
        WebhookCommand::Delete { id, json } => {
            if !auth.delete_webhook(&id, &ActedBy::cli()).await.map_err(failure)? {
                return Err(Failure::runtime(format!("no webhook with id {id:?}")));
            }
            if json {
                print_json(&serde_json::json!({"id": id, "deleted": true}));
            } else {
                println!("deleted webhook {id}");
            }
        }
        WebhookCommand::Test { id, json } => {
            let answer = match auth.test_webhook(sender, &id).await {
                Err(AuthError::NotFound) => {
                    return Err(Failure::runtime(format!("no webhook with id {id:?}")));
                }
                other => other.map_err(failure)?,
            };
            match (answer, json) {
                (Ok(status), true) => {
                    print_json(&serde_json::json!({"id": id, "ok": true, "status": status}));
                }
                (Ok(status), false) => println!("delivered: the endpoint answered {status}"),
                (Err(e), true) => {
                    print_json(&serde_json::json!({"id": id, "ok": false, "error": e.to_string()}));
                    return Err(Failure::runtime(format!("webhook test failed: {e}")));
                }
                (Err(e), false) => return Err(Failure::runtime(format!("webhook test failed: {e}"))),
            }
        }
    }
    Ok(())
}
