//! Runs hello-app. Configured like the `portcullis` server: defaults, then
//! `portcullis.toml` if present, then `PORTCULLIS_*` environment variables.

use std::sync::Arc;

use portcullis::startup::{Application, shutdown_signal};
use portcullis::{Config, SystemClock};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    portcullis::telemetry::init(&config.log, false);
    // Binds `server.bind`, opens the database, and serves the app's routes with
    // Portcullis's; logs `listening on http://ADDR`; stops on Ctrl-C or SIGTERM.
    let app = Application::build_with(&config, Arc::new(SystemClock), hello_app::app).await?;
    app.run(shutdown_signal()).await?;
    Ok(())
}
