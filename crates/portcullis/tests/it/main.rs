//! Integration tests: the real application on an ephemeral loopback port, spoken to
//! over HTTP, on SQLite and (when reachable) PostgreSQL. One binary for link time.

mod helpers;
mod smtp_sink;

mod admin;
mod admin_browser;
mod admin_console;
mod api;
mod backup;
mod browser;
mod change_feed;
mod cli;
mod cluster;
mod email;
mod email_browser;
mod faults;
mod findings;
mod flask_app;
mod forward_auth;
mod fuzz;
mod groups;
mod import;
mod interop;
mod invitations;
mod maintenance;
mod mfa;
mod oidc;
mod oidc_introspect;
mod oidc_response_modes;
mod openapi;
mod ops;
mod pages;
mod passkeys;
mod security;
mod sign_in_redirects;
mod throttle;
mod tokens;
mod upgrade;
mod upstream;
mod webhooks;
