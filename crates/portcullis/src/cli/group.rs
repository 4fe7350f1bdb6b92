//! `portcullis group ...`: create, list, delete, add, remove, members (SPEC §7).
//! Changes are recorded in the audit trail with the actor `cli`.

use clap::Subcommand;
use portcullis_core::admin::LAST_ADMIN;
use portcullis_core::groups::{ADMIN, Actor, Group, PROTECTED};
use portcullis_core::{Auth, AuthError};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use super::user::to_json;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group (name: a-z, 0-9, '_', '.', '-'; at most 64).
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List groups with their member counts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a group; its members lose it at once (the group admin always exists).
    Delete { name: String },
    /// Add a user to a group.
    Add { name: String, email: String },
    /// Remove a user from a group.
    Remove { name: String, email: String },
    /// List a group's members.
    Members {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct GroupJson<'a> {
    name: &'a str,
    description: &'a str,
    members: u64,
    created_at: String,
}

fn to_group_json(g: &Group) -> GroupJson<'_> {
    GroupJson {
        name: g.name.as_str(),
        description: &g.description,
        members: g.members,
        created_at: g.created_at.format(&Rfc3339).unwrap_or_default(),
    }
}

/// The one line a failed group command prints.
fn failure(e: AuthError, group: &str, email: &str) -> Failure {
    match e {
        AuthError::NotFound if email.is_empty() => Failure::runtime(format!("no group named {group:?}")),
        AuthError::Conflict { code: PROTECTED, .. } => {
            Failure::runtime(format!("the group {ADMIN:?} always exists and cannot be deleted"))
        }
        AuthError::Conflict { code: LAST_ADMIN, .. } => super::user::last_admin(email),
        AuthError::Conflict { code: "conflict", .. } => {
            Failure::runtime(format!("a group named {group:?} already exists"))
        }
        other => super::auth_failure(other),
    }
}

/// Adding and removing name a group and a user: say which of them is missing.
async fn member_failure(auth: &Auth, e: AuthError, group: &str, email: &str) -> Failure {
    match e {
        AuthError::NotFound if auth.find_group(group).await.is_err() => {
            Failure::runtime(format!("no group named {group:?}"))
        }
        AuthError::NotFound => Failure::runtime(format!("no user with email {email:?}")),
        other => failure(other, group, email),
    }
}

/// Prints what adding or removing did: "`verb` EMAIL `to` GROUP" when it changed
/// something, else "EMAIL is `state` GROUP".
async fn report(
    auth: &Auth,
    done: Result<(portcullis_core::User, bool), AuthError>,
    group: &str,
    email: &str,
    [verb, to, state]: [&str; 3],
) -> Result<(), Failure> {
    let (user, changed) = match done {
        Ok(done) => done,
        Err(e) => return Err(member_failure(auth, e, group, email).await),
    };
    if changed {
        println!("{verb} {} {to} {group}", user.email);
    } else {
        println!("{} is {state} {group}", user.email);
    }
    Ok(())
}

pub async fn run(config: &Config, cmd: GroupCommand) -> Result<(), Failure> {
    super::with_auth(config, async |auth| dispatch(auth, cmd).await).await
}

async fn dispatch(auth: &Auth, cmd: GroupCommand) -> Result<(), Failure> {
    match cmd {
        GroupCommand::Create { name, description } => {
            let group = auth
                .create_group(&name, &description, Actor::Cli)
                .await
                .map_err(|e| failure(e, &name, ""))?;
            println!("created group {}", group.name);
        }
        GroupCommand::List { json } => {
            let groups = auth.list_groups().await.map_err(|e| failure(e, "", ""))?;
            if json {
                let list: Vec<_> = groups.iter().map(to_group_json).collect();
                println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
            } else {
                let width = groups.iter().map(|g| g.name.as_str().len()).max().unwrap_or(4).max(4);
                println!("{:<width$}  {:>7}  DESCRIPTION", "NAME", "MEMBERS");
                for g in &groups {
                    println!("{:<width$}  {:>7}  {}", g.name.as_str(), g.members, g.description);
                }
            }
        }
        GroupCommand::Delete { name } => {
            auth.delete_group(&name, Actor::Cli).await.map_err(|e| failure(e, &name, ""))?;
            println!("deleted group {name}");
        }
        GroupCommand::Add { name, email } => {
            let done = auth.add_to_group(&name, &email, Actor::Cli).await;
            report(auth, done, &name, &email, ["added", "to", "already in"]).await?;
        }
        GroupCommand::Remove { name, email } => {
            let done = auth.remove_from_group(&name, &email, Actor::Cli).await;
            report(auth, done, &name, &email, ["removed", "from", "not in"]).await?;
        }
        GroupCommand::Members { name, json } => {
            let members = auth.group_members(&name).await.map_err(|e| failure(e, &name, ""))?;
            if json {
                let list: Vec<_> = members.iter().map(to_json).collect();
                println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
            } else {
                for m in &members {
                    println!("{}  {}", m.email, m.id);
                }
            }
        }
    }
    Ok(())
}
