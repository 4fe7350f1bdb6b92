use super::*;

#[expect(clippy::unnecessary_wraps, reason = "fills the optional fields of RawRule")]
fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[expect(clippy::unnecessary_wraps, reason = "fills the optional fields of RawRule")]
fn list(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|x| (*x).to_owned()).collect())
}

fn raw(policy: &str) -> RawRule {
    RawRule { policy: policy.into(), ..RawRule::default() }
}

fn on_path(path: &str, policy: &str) -> RawRule {
    RawRule { path: s(path), ..raw(policy) }
}

fn on_host(host: &str, policy: &str) -> RawRule {
    RawRule { host: s(host), ..raw(policy) }
}

fn groups(names: &[&str]) -> Policy {
    Policy::Groups(names.iter().map(|n| GroupName::parse(n).expect("valid")).collect())
}

fn rules(raw: &[RawRule], default: &str) -> AccessRules {
    AccessRules::parse(raw, default).expect("valid rules")
}

fn at(rules: &AccessRules, host: Option<&str>, uri: Option<&str>, method: Option<&str>) -> Policy {
    rules.policy_for(&AccessRequest { host, uri, method }).clone()
}

fn uri(rules: &AccessRules, uri: &str) -> Policy {
    at(rules, Some("app.example.com"), Some(uri), Some("GET"))
}

fn host(rules: &AccessRules, host: &str) -> Policy {
    at(rules, Some(host), Some("/"), Some("GET"))
}

fn error(raw: &RawRule) -> String {
    Rule::parse(raw).expect_err("refused")
}

// ---- decide ----

#[test]
fn public_allows_everyone_and_deny_forbids_everyone_even_anonymous() {
    let who = Who { groups: &[], two_factor: true };
    assert_eq!(decide(&Policy::Public, None), Decision::Allow);
    assert_eq!(decide(&Policy::Public, Some(who)), Decision::Allow);
    assert_eq!(decide(&Policy::Deny, None), Decision::Forbidden);
    assert_eq!(decide(&Policy::Deny, Some(who)), Decision::Forbidden);
}

#[test]
fn signed_in_allows_any_user_and_asks_anonymous_to_sign_in() {
    assert_eq!(decide(&Policy::SignedIn, None), Decision::Unauthenticated);
    assert_eq!(decide(&Policy::SignedIn, Some(Who { groups: &[], two_factor: false })), Decision::Allow);
}

#[test]
fn two_factor_forbids_a_user_signed_in_with_a_password_only() {
    assert_eq!(decide(&Policy::TwoFactor, None), Decision::Unauthenticated);
    assert_eq!(decide(&Policy::TwoFactor, Some(Who { groups: &[], two_factor: false })), Decision::Forbidden);
    assert_eq!(decide(&Policy::TwoFactor, Some(Who { groups: &[], two_factor: true })), Decision::Allow);
}

#[test]
fn groups_allow_a_member_of_any_listed_group_and_forbid_others() {
    let policy = groups(&["ops", "admin"]);
    let member = ["dev".to_owned(), "ops".to_owned()];
    let stranger = ["dev".to_owned(), "opsx".to_owned()];
    assert_eq!(decide(&policy, None), Decision::Unauthenticated);
    assert_eq!(decide(&policy, Some(Who { groups: &member, two_factor: false })), Decision::Allow);
    assert_eq!(decide(&policy, Some(Who { groups: &stranger, two_factor: true })), Decision::Forbidden);
    assert_eq!(decide(&policy, Some(Who { groups: &[], two_factor: true })), Decision::Forbidden);
}

// ---- rules and the default ----

#[test]
fn no_rules_means_signed_in_for_everything() {
    let rules = AccessRules::default();
    assert!(rules.is_empty());
    assert_eq!(rules.default_policy(), &Policy::SignedIn);
    assert_eq!(at(&rules, None, None, None), Policy::SignedIn);
    assert_eq!(uri(&rules, "/%zz/../admin"), Policy::SignedIn, "no path rule: the path does not matter");
    assert_eq!(rules, super::AccessRules::parse(&[], "signed_in").expect("valid"));
}

#[test]
fn the_first_matching_rule_wins_else_the_default() {
    let rules = rules(
        &[on_path("/admin/public", "public"), on_path("/admin/*", "deny"), on_path("/admin/x", "public")],
        "two_factor",
    );
    assert!(!rules.is_empty());
    assert_eq!(rules.rules().len(), 3);
    assert_eq!(uri(&rules, "/admin/public"), Policy::Public);
    assert_eq!(uri(&rules, "/admin/x"), Policy::Deny);
    assert_eq!(uri(&rules, "/elsewhere"), Policy::TwoFactor);
}

#[test]
fn every_policy_and_default_policy_is_read() {
    for (name, policy) in [
        ("public", Policy::Public),
        ("signed_in", Policy::SignedIn),
        ("two_factor", Policy::TwoFactor),
        ("deny", Policy::Deny),
    ] {
        assert_eq!(rules(&[raw(name)], "deny").rules()[0].policy(), &policy);
        assert_eq!(rules(&[], name).default_policy(), &policy);
        assert_eq!(policy.name(), name);
    }
    let g = RawRule { groups: list(&["ops", "admin"]), ..raw("groups") };
    assert_eq!(rules(&[g], "deny").rules()[0].policy(), &groups(&["ops", "admin"]));
}

#[test]
fn a_rule_with_nothing_to_match_matches_every_request() {
    let rules = rules(&[raw("public")], "deny");
    assert_eq!(at(&rules, None, None, None), Policy::Public);
    assert_eq!(uri(&rules, "/%zz"), Policy::Public);
}

// ---- hosts ----

#[test]
fn hosts_compare_without_case_port_or_final_dot() {
    let rules = rules(&[on_host("Grafana.example.com", "public")], "deny");
    for yes in
        ["grafana.example.com", "GRAFANA.Example.Com", "grafana.example.com:8443", "grafana.example.com."]
    {
        assert_eq!(host(&rules, yes), Policy::Public, "{yes}");
    }
    for no in ["example.com", "grafana.example.co", "x.grafana.example.com", "grafana.example.com.evil"] {
        assert_eq!(host(&rules, no), Policy::Deny, "{no}");
    }
}

#[test]
fn ipv6_hosts_compare_in_canonical_form_without_port() {
    let rules = rules(&[on_host("[0:0::1]", "public")], "signed_in");
    for yes in ["[::1]", "[::1]:8080", "[0:0:0:0:0:0:0:1]"] {
        assert_eq!(host(&rules, yes), Policy::Public, "{yes}");
    }
    assert_eq!(host(&rules, "[::2]:8080"), Policy::SignedIn);
}

#[test]
fn a_wildcard_host_matches_subdomains_at_any_depth_but_not_the_domain() {
    let rules = rules(&[on_host("*.example.com", "public")], "signed_in");
    for yes in ["a.example.com", "a.b.c.example.com:80", "A.EXAMPLE.COM"] {
        assert_eq!(host(&rules, yes), Policy::Public, "{yes}");
    }
    for no in ["example.com", "badexample.com", "a.example.com.evil", "example.org"] {
        assert_eq!(host(&rules, no), Policy::SignedIn, "{no}");
    }
}

#[test]
fn a_rule_with_a_host_does_not_match_a_request_without_one() {
    let rules = rules(&[on_host("app.example.com", "public")], "signed_in");
    assert_eq!(at(&rules, None, Some("/"), None), Policy::SignedIn);
    assert_eq!(at(&rules, Some(" "), Some("/"), None), Policy::SignedIn);
}

#[test]
fn a_host_that_is_not_a_host_name_is_denied_when_a_host_rule_depends_on_it() {
    let rules = rules(&[on_path("/health", "public"), on_host("app.example.com", "deny")], "signed_in");
    for bad in ["app.example.com:x", "app example.com", "[::1", "[::1]x", "app.example.com, b", "::1"] {
        assert_eq!(host(&rules, bad), Policy::Deny, "{bad}");
    }
    assert_eq!(
        at(&rules, Some("app.example.com:x"), Some("/health"), None),
        Policy::Public,
        "an earlier rule"
    );
}

// ---- paths ----

#[test]
fn a_star_after_a_slash_matches_the_folder_and_everything_under_it() {
    let rules = rules(&[on_path("/admin/*", "deny")], "public");
    for yes in ["/admin", "/admin/", "/admin/users/1", "/admin?x=1"] {
        assert_eq!(uri(&rules, yes), Policy::Deny, "{yes}");
    }
    for no in ["/administrator", "/", "/adminx/y", "/Admin", "/public/admin"] {
        assert_eq!(uri(&rules, no), Policy::Public, "{no}");
    }
}

#[test]
fn a_plain_prefix_matches_any_continuation() {
    let rules = rules(&[on_path("/api*", "deny")], "public");
    for yes in ["/api", "/apix", "/api/v1", "/api?x"] {
        assert_eq!(uri(&rules, yes), Policy::Deny, "{yes}");
    }
    assert_eq!(uri(&rules, "/ap"), Policy::Public);
    let all = self::rules(&[on_path("/*", "deny")], "public");
    assert_eq!(uri(&all, "/"), Policy::Deny);
    assert_eq!(uri(&all, "/anything/at/all"), Policy::Deny);
}

#[test]
fn an_exact_path_matches_only_itself_without_the_query() {
    let rules = rules(&[on_path("/admin", "deny")], "public");
    assert_eq!(uri(&rules, "/admin"), Policy::Deny);
    assert_eq!(uri(&rules, "/admin?next=/x"), Policy::Deny);
    assert_eq!(uri(&rules, "/admin#top"), Policy::Deny);
    assert_eq!(uri(&rules, "/admin/"), Policy::Public);
    assert_eq!(uri(&rules, "/admin/x"), Policy::Public);
}

#[test]
fn the_path_is_decoded_and_normalised_before_matching() {
    let rules = rules(&[on_path("/admin/*", "deny")], "public");
    for crafted in [
        "/%61dmin",
        "/%61%64%6D%69%6E/x",
        "/./admin",
        "/a/../admin",
        "/x/y/../../admin/",
        "/%2e%2e/admin",
        "/x/%2E%2E/admin",
        "//admin",
        "///admin//x",
        "/public/..;/admin",
        "/admin%2f..",
        "/admin/x%2F..%2F..",
        "/x/%252e%252e/admin",
        "/public/%2e%2e;/admin",
    ] {
        assert_eq!(uri(&rules, crafted), Policy::Deny, "{crafted}");
    }
    assert_eq!(
        uri(&rules, "/admin/../public"),
        Policy::Deny,
        "a server routing on the raw path sees /admin/"
    );
    assert_eq!(uri(&rules, "/public/./x"), Policy::Public, "every reading is outside /admin/");
    assert_eq!(uri(&rules, "/public?/admin"), Policy::Public, "the query does not count");
}

#[test]
fn encoded_slashes_decode_to_slashes() {
    let rules = rules(&[on_path("/a/*", "public")], "deny");
    assert_eq!(uri(&rules, "/a%2Fb"), Policy::Public);
    assert_eq!(uri(&rules, "/a%2fb/c"), Policy::Public);
}

#[test]
fn a_request_read_differently_by_different_servers_is_denied() {
    let admins = RawRule { groups: list(&["admin"]), ..on_path("/admin/*", "groups") };
    let rules = rules(&[on_path("/public/*", "public"), admins], "signed_in");
    for ambiguous in [
        "/public/../admin/x",
        "/admin/../public/x",
        "/public/..;/admin",
        "/admin%2f../public/x",
        "/public//../admin",
        "/public/%252e%252e/admin",
    ] {
        assert_eq!(uri(&rules, ambiguous), Policy::Deny, "{ambiguous}");
    }
    assert_eq!(uri(&rules, "/public/./x"), Policy::Public, "every reading is under /public/");
    assert_eq!(uri(&rules, "/admin/x/../y"), groups(&["admin"]), "every reading is under /admin/");
    assert_eq!(uri(&rules, "/public/a;b/../c"), Policy::Public);
}

#[test]
fn unreadable_paths_are_denied_when_a_path_rule_depends_on_them() {
    let rules = rules(&[on_host("open.example.com", "public"), on_path("/admin/*", "deny")], "signed_in");
    for bad in ["/%zz", "/adm%", "/admin%FF", "/%C3(", "/admin%00", "/admin\\x", "/%5Cadmin", "admin", "*"] {
        assert_eq!(uri(&rules, bad), Policy::Deny, "{bad:?}");
        assert_eq!(at(&rules, Some("open.example.com"), Some(bad), None), Policy::Public, "an earlier rule");
    }
    let methods = self::rules(
        &[RawRule { methods: list(&["POST"]), path: s("/admin/*"), ..raw("public") }],
        "signed_in",
    );
    assert_eq!(uri(&methods, "/%zz"), Policy::SignedIn, "the rule fails on its method anyway");
}

#[test]
fn a_rule_with_a_path_does_not_match_a_request_without_a_uri() {
    let rules = rules(&[on_path("/*", "public")], "signed_in");
    assert_eq!(at(&rules, Some("app.example.com"), None, Some("GET")), Policy::SignedIn);
    assert_eq!(at(&rules, Some("app.example.com"), Some(""), Some("GET")), Policy::SignedIn);
}

// ---- methods ----

#[test]
fn methods_compare_without_case_and_need_the_header() {
    let rule = RawRule { methods: list(&["post", "Delete"]), ..raw("deny") };
    let rules = rules(&[rule], "public");
    for yes in ["POST", "post", "DELETE", "delete"] {
        assert_eq!(at(&rules, None, Some("/"), Some(yes)), Policy::Deny, "{yes}");
    }
    assert_eq!(at(&rules, None, Some("/"), Some("GET")), Policy::Public);
    assert_eq!(at(&rules, None, Some("/"), None), Policy::Public, "no X-Forwarded-Method");
    assert_eq!(at(&rules, None, Some("/"), Some("")), Policy::Public, "an empty X-Forwarded-Method");
}

#[test]
fn host_path_and_methods_must_all_match() {
    let rule = RawRule {
        host: s("grafana.example.com"),
        path: s("/admin/*"),
        methods: list(&["POST"]),
        groups: list(&["ops"]),
        ..raw("groups")
    };
    let rules = rules(&[rule], "signed_in");
    let grafana = Some("grafana.example.com");
    assert_eq!(at(&rules, grafana, Some("/admin/x"), Some("POST")), groups(&["ops"]));
    assert_eq!(at(&rules, grafana, Some("/admin/x"), Some("GET")), Policy::SignedIn);
    assert_eq!(at(&rules, grafana, Some("/x"), Some("POST")), Policy::SignedIn);
    assert_eq!(at(&rules, Some("other.example.com"), Some("/admin/x"), Some("POST")), Policy::SignedIn);
}

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
