//! How requests are matched: hosts, paths, methods.

use super::*;

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
