//! The Portcullis server and CLI: configuration, start-up, commands. `main.rs`
//! only calls [`cli::main`]; tests and embedding applications use [`startup`].

pub mod cli;
pub mod config;
pub mod mail;
mod maintenance;
pub mod metrics;
pub mod startup;
pub mod telemetry;
mod trouble;
pub mod webhooks;

pub use config::Config;
pub use portcullis_core::{Clock, MockClock, SystemClock};
pub use portcullis_web::extract::{CurrentUser, MaybeUser};
pub use startup::{Application, Portcullis, StartupError};
