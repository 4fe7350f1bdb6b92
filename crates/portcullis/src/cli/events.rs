//! `portcullis events`: the audit trail, newest first.

use clap::Args;
use portcullis_core::{AuthError, Event};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use crate::config::Config;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this user's events.
    #[arg(long)]
    email: Option<String>,
    /// How many, newest first (at most 500).
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// One JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct EventJson<'a> {
    id: i64,
    #[serde(rename = "type")]
    kind: &'a str,
    outcome: &'a str,
    user_id: Option<String>,
    /// `cli` or the administrator who made the change, when not the user.
    actor_id: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    detail: Option<&'a str>,
    created_at: String,
}

fn to_json(e: &Event) -> EventJson<'_> {
    EventJson {
        id: e.id,
        kind: &e.kind,
        outcome: &e.outcome,
        user_id: e.user_id.map(|u| u.to_string()),
        actor_id: e.actor_id.as_deref(),
        ip: e.ip.as_deref(),
        user_agent: e.user_agent.as_deref(),
        detail: e.detail.as_deref(),
        created_at: e.created_at.format(&Rfc3339).unwrap_or_default(),
    }
}

pub async fn run(config: &Config, args: EventsArgs) -> Result<(), Failure> {
    let events = super::with_auth(config, async |auth| {
        Ok(match &args.email {
            Some(email) => match auth.find_user(email).await {
                Ok(user) => auth.events_of(user.id, args.limit).await,
                Err(e) => Err(e),
            },
            None => auth.all_events(args.limit).await,
        })
    })
    .await?;
    let events = events.map_err(|e| match e {
        AuthError::NotFound => {
            Failure::runtime(format!("no user with email {:?}", args.email.unwrap_or_default()))
        }
        other => Failure::runtime(other.to_string()),
    })?;
    if args.json {
        let list: Vec<_> = events.iter().map(to_json).collect();
        println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
        return Ok(());
    }
    println!("{:<20}  {:<16}  {:<7}  {:<36}  {:<15}  DETAIL", "TIME", "EVENT", "OUTCOME", "USER", "IP");
    for e in &events {
        let j = to_json(e);
        println!(
            "{:<20}  {:<16}  {:<7}  {:<36}  {:<15}  {}",
            j.created_at,
            j.kind,
            j.outcome,
            j.user_id.as_deref().unwrap_or("-"),
            j.ip.unwrap_or("-"),
            j.detail.unwrap_or("")
        );
    }
    Ok(())
}
