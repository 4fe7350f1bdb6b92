//! `[access]` (SPEC §7): `config check` and `serve` refuse a rule that cannot be
//! parsed or makes no sense with exit 2 and one line naming it; good rules reach
//! the web layer.

use std::time::Duration;

use figment::providers::{Format as _, Toml};
use portcullis::Config;
use portcullis::config::AccessConfig;
use portcullis_core::access::{AccessRequest, Policy, RawRule};

use super::Cli;
use crate::helpers::{Backend, TestApp};

/// A good set: every key, every policy.
const GOOD: &str = r#"
[access]
default_policy = "deny"

[[access.rules]]
path = "/healthz"
policy = "public"

[[access.rules]]
host = "grafana.example.com"
path = "/admin/*"
methods = ["POST", "delete"]
policy = "groups"
groups = ["ops", "admin"]

[[access.rules]]
host = "*.internal.example.com"
policy = "two_factor"

[[access.rules]]
path = "/api*"
policy = "signed_in"

[[access.rules]]
methods = ["TRACE"]
policy = "deny"
"#;

/// `config check` on `toml` (one good rule first, so indexes count).
async fn check(toml: &str) -> super::Run {
    let cli = Cli::new();
    let file = format!("[[access.rules]]\npath = \"/ok/*\"\npolicy = \"public\"\n\n{toml}");
    std::fs::write(cli.path("c.toml"), file).expect("write config");
    cli.run(&["--config", "c.toml", "config", "check"]).await
}

#[tokio::test]
async fn config_check_accepts_a_good_set_of_access_rules() {
    let cli = Cli::new();
    std::fs::write(cli.path("c.toml"), GOOD).expect("write config");
    cli.run(&["--config", "c.toml", "config", "check"]).await.expect_code(0);
}

#[tokio::test]
async fn config_check_refuses_each_kind_of_bad_access_rule_with_one_line_naming_it() {
    for (rule, expected) in [
        ("policy = \"groups\"", "access.rules[1].groups: required with policy = \"groups\""),
        ("policy = \"groups\"\ngroups = []", "access.rules[1].groups: must name at least one group"),
        ("policy = \"groups\"\ngroups = [\"Ops\"]", "access.rules[1].groups: \"Ops\" is not a group name"),
        (
            "policy = \"deny\"\ngroups = [\"ops\"]",
            "access.rules[1].groups: only allowed with policy = \"groups\"",
        ),
        (
            "path = \"/a/*/b\"\npolicy = \"deny\"",
            "access.rules[1].path: \"/a/*/b\": \"*\" may only end a path",
        ),
        ("path = \"admin/*\"\npolicy = \"deny\"", "access.rules[1].path: \"admin/*\" must start with \"/\""),
        (
            "host = \"grafana.*.com\"\npolicy = \"deny\"",
            "access.rules[1].host: \"grafana.*.com\": \"*\" may only start",
        ),
        (
            "host = \"*example.com\"\npolicy = \"deny\"",
            "access.rules[1].host: \"*example.com\": \"*\" may only start",
        ),
        ("host = \"\"\npolicy = \"deny\"", "access.rules[1].host: must not be empty"),
        ("methods = []\npolicy = \"deny\"", "access.rules[1].methods: must not be empty"),
        ("methods = [\"\"]\npolicy = \"deny\"", "access.rules[1].methods: \"\" is not an HTTP method"),
        ("policy = \"allow\"", "access.rules[1].policy: \"allow\" is not one of"),
    ] {
        let run = check(&format!("[[access.rules]]\n{rule}\n")).await.expect_code(2);
        let line = run.only_error_line();
        assert!(line.starts_with(&format!("error: {expected}")), "{rule}:\n{line}");
    }
}

#[tokio::test]
async fn config_check_refuses_unknown_keys_and_a_missing_policy_in_a_rule() {
    let run =
        check("[[access.rules]]\npath = \"/x\"\npolicy = \"deny\"\ncolour = \"red\"\n").await.expect_code(2);
    let line = run.only_error_line();
    assert!(line.starts_with("error: access.rules[1].colour: unknown configuration key"), "{line}");
    let run = check("[[access.rules]]\npath = \"/x\"\n").await.expect_code(2);
    let line = run.only_error_line();
    assert!(line.starts_with("error: access.rules[1]: missing field `policy`"), "{line}");
}

#[tokio::test]
async fn config_check_refuses_groups_or_an_unknown_word_as_default_policy() {
    let run = check("[access]\ndefault_policy = \"groups\"\n").await.expect_code(2);
    let line = run.only_error_line();
    assert!(line.starts_with("error: access.default_policy: \"groups\" cannot be the default"), "{line}");
    let run = check("[access]\ndefault_policy = \"allow\"\n").await.expect_code(2);
    assert!(run.only_error_line().starts_with("error: access.default_policy: \"allow\" is not one of"));
}

#[tokio::test]
async fn the_default_policy_can_come_from_the_environment() {
    let cli = Cli::new().var("PORTCULLIS_ACCESS__DEFAULT_POLICY", "deny");
    cli.run(&["config", "check"]).await.expect_code(0);
    let cli = cli.var("PORTCULLIS_ACCESS__DEFAULT_POLICY", "groups");
    let run = cli.run(&["config", "check"]).await.expect_code(2);
    assert!(run.only_error_line().starts_with("error: access.default_policy: "), "{}", run.stderr);
}

#[tokio::test]
async fn rules_can_come_from_the_environment_as_an_inline_list() {
    let cli = Cli::new().var("PORTCULLIS_ACCESS__RULES", r#"[{path = "/admin/*", policy = "deny"}]"#);
    cli.run(&["config", "check"]).await.expect_code(0);
    let cli = cli.var("PORTCULLIS_ACCESS__RULES", r#"[{path = "/x", policy = "deny"}, {path = "x"}]"#);
    let run = cli.run(&["config", "check"]).await.expect_code(2);
    let line = run.only_error_line();
    assert!(line.starts_with("error: access.rules[1]: missing field `policy`"), "{line}");
    assert!(line.contains("PORTCULLIS_ACCESS__RULES)"), "{line}");
}

#[tokio::test]
async fn rules_given_as_text_in_the_environment_are_refused_with_a_clear_line() {
    let cli = Cli::new().var("PORTCULLIS_ACCESS__RULES", "/admin/*=deny").var("RUST_BACKTRACE", "1");
    let run = cli.run(&["config", "check"]).await.expect_code(2);
    let line = run.only_error_line();
    assert!(line.starts_with("error: access.rules: "), "{line}");
    assert!(line.contains("[[access.rules]]") && line.contains("PORTCULLIS_ACCESS__RULES"), "{line}");
}

#[tokio::test]
async fn serve_refuses_a_bad_access_rule_with_exit_2_before_listening() {
    let cli = Cli::new().var("PORTCULLIS_SERVER__BIND", "127.0.0.1:0");
    std::fs::write(cli.path("c.toml"), "[[access.rules]]\npath = \"admin\"\npolicy = \"deny\"\n")
        .expect("write config");
    let run = cli.run(&["--config", "c.toml", "serve"]).await.expect_code(2);
    assert!(run.error_line().starts_with("error: access.rules[0].path: "), "{}", run.stderr);
    assert!(!run.stderr.contains("listening on"), "{}", run.stderr);
}

#[tokio::test]
async fn access_rules_in_the_file_reach_the_typed_config_checked() {
    let config: Config = figment::Figment::from(Toml::string(GOOD)).extract().expect("config parses");
    config.validate().expect("valid");
    assert_eq!(config.access.rules.len(), 5);
    let rules = config.access.parse().expect("rules parse");
    let req = |host, uri, method| AccessRequest { host: Some(host), uri: Some(uri), method: Some(method) };
    assert_eq!(rules.policy_for(&req("a.example.com", "/healthz", "GET")), &Policy::Public);
    assert_eq!(rules.policy_for(&req("a.internal.example.com", "/", "GET")), &Policy::TwoFactor);
    assert_eq!(rules.policy_for(&req("a.example.com", "/apix", "GET")), &Policy::SignedIn);
    assert_eq!(rules.policy_for(&req("a.example.com", "/x", "trace")), &Policy::Deny);
    assert_eq!(rules.policy_for(&req("a.example.com", "/x", "GET")), &Policy::Deny, "the default");
    let admin = rules.policy_for(&req("GRAFANA.example.com:443", "/admin/x", "DELETE"));
    assert!(matches!(admin, Policy::Groups(g) if g.len() == 2), "{admin:?}");
}

#[tokio::test]
async fn the_running_server_holds_the_parsed_rules_and_defaults_to_signed_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let access = &app.state.config().access;
    assert!(access.is_empty());
    assert_eq!(access.default_policy(), &Policy::SignedIn);
    app.stop().await;

    let deny_admin = RawRule { path: Some("/admin/*".into()), policy: "deny".into(), ..RawRule::default() };
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.access = AccessConfig { default_policy: "public".into(), rules: vec![deny_admin] };
    })
    .await;
    let access = &app.state.config().access;
    let req = AccessRequest { uri: Some("/%61dmin"), ..AccessRequest::default() };
    assert_eq!(access.policy_for(&req), &Policy::Deny);
    assert_eq!(access.default_policy(), &Policy::Public);
    app.stop().await;
}

#[tokio::test]
async fn the_application_refuses_to_start_with_a_bad_rule_as_a_configuration_error() {
    let db = crate::helpers::TestDb::create(Backend::Sqlite).await;
    let mut config = crate::helpers::test_config(&db.url);
    config.access.rules = vec![RawRule { policy: "groups".into(), ..RawRule::default() }];
    let clock = std::sync::Arc::new(portcullis_core::MockClock::new());
    let started =
        tokio::time::timeout(Duration::from_secs(30), portcullis::Application::build(&config, clock));
    let Err(err) = started.await.expect("fails fast") else { panic!("a bad rule is refused") };
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(err.to_string().starts_with("access.rules[0].groups: "), "{err}");
}
