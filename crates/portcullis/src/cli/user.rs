//! `portcullis user ...`: create, invite, list, show, disable, enable, delete,
//! set-password, import (in `import.rs`).

use clap::Subcommand;
use portcullis_core::admin::LAST_ADMIN;
use portcullis_core::groups::Actor;
use portcullis_core::service::{Registered, Registration};
use portcullis_core::{Auth, AuthError, User};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::{Failure, password};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a verified user.
    Create {
        #[arg(long)]
        email: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Invite a user: an unverified account with no password, in the groups given,
    /// is mailed a link to choose its password (valid 7 days).
    Invite {
        #[arg(long)]
        email: String,
        /// A group to put the user in (it must exist); repeat for several.
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one user.
    Show {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: sign-in refused, every session ended.
    Disable { email: String },
    /// Re-enable a disabled user.
    Enable { email: String },
    /// Delete a user and everything stored about them.
    Delete { email: String },
    /// Turn a user's two-factor authentication off (lost device); their sessions end.
    MfaReset { email: String },
    /// Set a user's password (every session is ended).
    SetPassword {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Import users with their existing password hashes (CSV or JSON Lines), all or nothing.
    Import(super::import::ImportArgs),
}

#[derive(Serialize)]
#[expect(clippy::struct_excessive_bools, reason = "mirrors the account flags")]
pub(super) struct UserJson<'a> {
    id: String,
    email: &'a str,
    email_verified: bool,
    is_admin: bool,
    disabled: bool,
    mfa_enabled: bool,
    created_at: String,
    groups: &'a [String],
    /// Invited and not yet accepted: no password is set.
    invited: bool,
}

pub(super) fn to_json(u: &User) -> UserJson<'_> {
    UserJson {
        id: u.id.to_string(),
        email: &u.email,
        email_verified: u.email_verified,
        is_admin: u.is_admin(),
        disabled: u.disabled,
        mfa_enabled: u.mfa_enabled,
        created_at: u.created_at.format(&Rfc3339).unwrap_or_default(),
        groups: &u.groups,
        invited: u.invited,
    }
}

fn failure(e: AuthError, email: &str) -> Failure {
    match e {
        AuthError::NotFound => Failure::runtime(format!("no user with email {email:?}")),
        AuthError::EmailTaken => Failure::runtime(format!("a user with email {email:?} already exists")),
        AuthError::Conflict { code: LAST_ADMIN, .. } => last_admin(email),
        other => super::auth_failure(other),
    }
}

/// Disabling, deleting or removing from `admin` the last enabled administrator.
pub(super) fn last_admin(email: &str) -> Failure {
    Failure::runtime(format!(
        "refused: {email} is the last administrator (no enabled administrator would be left); \
         make another user an administrator first"
    ))
}

pub async fn run(config: &Config, cmd: UserCommand) -> Result<(), Failure> {
    if let UserCommand::Import(args) = cmd {
        return super::import::run(config, args).await;
    }
    super::with_auth(config, async |auth| dispatch(auth, cmd).await).await
}

async fn dispatch(auth: &Auth, cmd: UserCommand) -> Result<(), Failure> {
    match cmd {
        UserCommand::Create { email, admin, password_stdin } => {
            let password = password::read(password_stdin)?;
            let reg = Registration { email: &email, password: &password, verified: true, admin };
            let registered = auth
                .register(reg, &portcullis_core::service::ClientMeta::operator())
                .await
                .map_err(|e| failure(e, &email))?;
            // Operator-made accounts are verified: a taken address is always an error.
            let Registered::Created(user) = registered else {
                return Err(failure(AuthError::EmailTaken, &email));
            };
            println!(
                "created user {} ({}){}",
                user.email,
                user.id,
                if admin { " as administrator" } else { "" }
            );
        }
        UserCommand::Invite { email, groups } => {
            let user = auth.invite_user(&email, &groups, Actor::Cli).await.map_err(|e| failure(e, &email))?;
            println!("invited {} ({}); the invitation link was queued for mailing", user.email, user.id);
        }
        UserCommand::List { json } => {
            let users = auth.list_users().await.map_err(|e| failure(e, ""))?;
            if json {
                let list: Vec<_> = users.iter().map(to_json).collect();
                println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
            } else {
                print_table(&users);
            }
        }
        UserCommand::Show { email, json } => {
            let user = auth.find_user(&email).await.map_err(|e| failure(e, &email))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&to_json(&user)).unwrap_or_default());
            } else {
                let j = to_json(&user);
                println!(
                    "id:             {}\nemail:          {}\nemail_verified: {}\nadmin:          {}\ndisabled:       {}\nmfa_enabled:    {}\ncreated_at:     {}\ngroups:         {}\ninvited:        {}",
                    j.id,
                    j.email,
                    j.email_verified,
                    j.is_admin,
                    j.disabled,
                    j.mfa_enabled,
                    j.created_at,
                    j.groups.join(","),
                    j.invited
                );
            }
        }
        UserCommand::Disable { email } => {
            auth.set_disabled(&email, true).await.map_err(|e| failure(e, &email))?;
            println!("disabled {email}; their sessions were ended");
        }
        UserCommand::Enable { email } => {
            auth.set_disabled(&email, false).await.map_err(|e| failure(e, &email))?;
            println!("enabled {email}");
        }
        UserCommand::Delete { email } => {
            auth.delete_user(&email).await.map_err(|e| failure(e, &email))?;
            println!("deleted {email}");
        }
        UserCommand::MfaReset { email } => {
            auth.mfa_reset(&email).await.map_err(|e| failure(e, &email))?;
            println!("two-factor authentication turned off for {email}; their sessions were ended");
        }
        UserCommand::SetPassword { email, password_stdin } => {
            auth.find_user(&email).await.map_err(|e| failure(e, &email))?;
            let password = password::read(password_stdin)?;
            auth.set_password(&email, &password).await.map_err(|e| failure(e, &email))?;
            println!("password set for {email}; their sessions were ended");
        }
        UserCommand::Import(_) => unreachable!("run() handles it"),
    }
    Ok(())
}

fn print_table(users: &[User]) {
    let width = users.iter().map(|u| u.email.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:<36}  {:<8}  {:<5}  {:<8}  {:<7}  CREATED",
        "EMAIL", "ID", "VERIFIED", "ADMIN", "DISABLED", "INVITED"
    );
    for u in users {
        let j = to_json(u);
        let yn = |b: bool| if b { "yes" } else { "no" };
        println!(
            "{:<width$}  {:<36}  {:<8}  {:<5}  {:<8}  {:<7}  {}",
            j.email,
            j.id,
            yn(j.email_verified),
            yn(j.is_admin),
            yn(j.disabled),
            yn(j.invited),
            j.created_at
        );
    }
}
