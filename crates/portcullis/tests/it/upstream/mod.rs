//! Upstream identity providers for the "sign in with another identity provider" tests
//! (issue #19, SPEC §10): panva's oidc-provider run with Node.js (`node_provider`) and
//! a loopback stand-in for GitHub's OAuth web flow and REST API (`github`). `harness`
//! proves both work on their own, without Portcullis.

pub mod github;
mod github_signin;
mod harness;
pub mod node_provider;
mod oidc_signin;
mod portcullis_upstream;
