//! Webhooks (issue #22): the HTTP sender with its SSRF rules, and the worker that
//! delivers the webhook outbox on this node.

pub mod address;
mod sender;
pub(crate) mod worker;

pub use sender::HttpSender;
