//! Rules `config check` and `serve` refuse.

use super::*;

// ---- refused rules ----

#[test]
fn policy_groups_needs_a_non_empty_list_of_valid_names() {
    assert_eq!(error(&raw("groups")), "groups: required with policy = \"groups\"");
    assert_eq!(
        error(&RawRule { groups: list(&[]), ..raw("groups") }),
        "groups: must name at least one group"
    );
    for bad in ["Ops", "", "-ops", "op s", "ops*"] {
        let e = error(&RawRule { groups: list(&["ops", bad]), ..raw("groups") });
        assert!(e.starts_with(&format!("groups: {bad:?} is not a group name")), "{e}");
    }
    assert!(Rule::parse(&RawRule { groups: list(&["not-created-yet"]), ..raw("groups") }).is_ok());
}

#[test]
fn groups_with_another_policy_is_refused() {
    let e = error(&RawRule { groups: list(&["ops"]), ..raw("signed_in") });
    assert_eq!(e, "groups: only allowed with policy = \"groups\" (this rule has policy = \"signed_in\")");
    assert!(error(&RawRule { groups: list(&[]), ..raw("deny") }).starts_with("groups: "));
}

#[test]
fn an_unknown_policy_is_refused() {
    for bad in ["", "Public", "admin", "signed-in", "allow"] {
        let e = error(&raw(bad));
        assert_eq!(e, format!("policy: {bad:?} is not one of public, signed_in, two_factor, groups, deny"));
    }
}

#[test]
fn a_path_must_start_with_a_slash_and_have_a_star_only_at_the_end() {
    assert_eq!(error(&on_path("admin/*", "deny")), "path: \"admin/*\" must start with \"/\"");
    assert_eq!(error(&on_path("", "deny")), "path: \"\" must start with \"/\"");
    assert_eq!(error(&on_path("*", "deny")), "path: \"*\" must start with \"/\"");
    for bad in ["/*/admin", "/admin/*/x", "/a*b", "/admin/**", "/*.php"] {
        let e = error(&on_path(bad, "deny"));
        assert_eq!(e, format!("path: {bad:?}: \"*\" may only end a path, as in \"/admin/*\""));
    }
    for ok in ["/", "/*", "/admin", "/admin/", "/admin/*", "/api*", "/.well-known/*", "/admin/.*", "/100%"] {
        assert!(Rule::parse(&on_path(ok, "deny")).is_ok(), "{ok}");
    }
}

#[test]
fn a_path_that_could_never_match_is_refused() {
    for bad in ["//admin", "/a/../admin", "/./admin/*", "/admin/./*", "/admin//*"] {
        let e = error(&on_path(bad, "deny"));
        assert!(e.starts_with(&format!("path: {bad:?} can never match: ")), "{e}");
    }
    let e = error(&on_path("/my%20files/*", "deny"));
    assert!(e.ends_with("percent-decoded, write \"/my files/*\""), "{e}");
}

#[test]
fn a_host_must_be_a_name_with_a_star_only_as_first_label() {
    assert_eq!(error(&on_host("", "deny")), "host: must not be empty (leave it out to match every host)");
    for bad in ["*", "*example.com", "a.*.example.com", "example.*", "*.*.example.com", "**.example.com"] {
        let e = error(&on_host(bad, "deny"));
        assert!(e.starts_with(&format!("host: {bad:?}")) && e.contains('*'), "{e}");
    }
    for bad in [
        "*.",
        "example.com:443",
        "http://example.com",
        "exa mple.com",
        "a..b",
        ".example.com",
        "*.[::1]",
        "::1",
    ] {
        let e = error(&on_host(bad, "deny"));
        assert!(e.starts_with(&format!("host: {bad:?} is not a host name")), "{e}");
    }
    for ok in ["example.com", "*.example.com", "EXAMPLE.com.", "[::1]", "10.0.0.1", "localhost"] {
        assert!(Rule::parse(&on_host(ok, "deny")).is_ok(), "{ok}");
    }
}

#[test]
fn methods_must_be_a_non_empty_list_of_tokens() {
    let with = |m: &[&str]| RawRule { methods: list(m), ..raw("deny") };
    assert_eq!(error(&with(&[])), "methods: must not be empty (leave it out to match every method)");
    for bad in ["", "GE T", "*", "GET,POST", "GÉT"] {
        let e = error(&with(&["GET", bad]));
        assert!(e.starts_with(&format!("methods: {bad:?} is not an HTTP method")), "{e}");
    }
    assert!(Rule::parse(&with(&["get", "PROPFIND", "VERSION-CONTROL"])).is_ok());
}

#[test]
fn rules_and_default_policy_errors_name_the_key() {
    let ok = on_path("/ok/*", "public");
    let e = AccessRules::parse(&[ok.clone(), ok.clone(), on_path("admin/*", "deny")], "signed_in");
    assert_eq!(e, Err("access.rules[2].path: \"admin/*\" must start with \"/\"".into()));
    let e = AccessRules::parse(&[raw("groups")], "signed_in").expect_err("refused");
    assert!(e.starts_with("access.rules[0].groups: "), "{e}");
    let e = AccessRules::parse(std::slice::from_ref(&ok), "groups").expect_err("refused");
    assert!(e.starts_with("access.default_policy: \"groups\" cannot be the default"), "{e}");
    let e = AccessRules::parse(&[ok], "allow").expect_err("refused");
    assert_eq!(e, "access.default_policy: \"allow\" is not one of public, signed_in, two_factor, deny");
}
