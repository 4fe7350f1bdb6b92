//! Accounts: users, their email addresses and passwords, and the use cases that
//! create, change, export and delete them.

mod admin;
mod change_password;
pub mod common_passwords;
mod delete_account;
pub mod email;
pub(crate) mod export;
pub mod import;
pub mod invite;
pub mod legacy_hash;
pub mod page;
pub mod password;
pub(crate) mod reauth;
pub(crate) mod register;
pub mod store;
pub mod user;
