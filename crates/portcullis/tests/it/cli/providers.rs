//! `[[identity_providers]]` (SPEC §10): `config check` checks every entry without
//! reaching anything over the network (the issuers below do not exist), and
//! refuses a bad one with exit 2 and one line naming its key.

use super::Cli;

/// A GitHub entry and an OpenID Connect one whose secret is in a file.
const GOOD: &str = r#"
[[identity_providers]]
id = "github"
name = "GitHub"
kind = "github"
client_id = "Iv1.abc"
client_secret = "s3cret"

[[identity_providers]]
id = "corp-sso"
name = "Corp SSO"
kind = "oidc"
issuer = "https://sso.corp.invalid"
client_id = "portcullis"
client_secret_file = "secret.txt"
scopes = ["openid", "email"]
allow_signup = false
trust_upstream_mfa = false
"#;

async fn check(cli: &Cli, toml: &str) -> super::Run {
    std::fs::write(cli.path("c.toml"), toml).expect("write config");
    cli.run(&["--config", "c.toml", "config", "check"]).await
}

#[tokio::test]
async fn config_check_accepts_providers_without_reaching_them() {
    let cli = Cli::new();
    std::fs::write(cli.path("secret.txt"), "from-a-file\n").expect("write secret");
    let toml = GOOD.replace("secret.txt", &cli.path("secret.txt").display().to_string());
    check(&cli, &toml).await.expect_code(0);
}

#[tokio::test]
async fn config_check_refuses_each_kind_of_bad_provider_with_one_line_naming_it() {
    let cli = Cli::new();
    let oidc = "name = \"Corp\"\nkind = \"oidc\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
    for (entry, expected) in [
        (format!("id = \"mfa\"\n{oidc}issuer = \"https://sso.example.com\""), "identity_providers[1].id: \"mfa\" is reserved"),
        (format!("id = \"Corp\"\n{oidc}issuer = \"https://sso.example.com\""), "identity_providers[1].id: \"Corp\" may hold only"),
        (format!("id = \"github\"\n{oidc}issuer = \"https://sso.example.com\""), "identity_providers[1].id: \"github\" is used by another provider"),
        (format!("id = \"corp\"\n{oidc}"), "identity_providers[1].issuer: required for kind = \"oidc\""),
        (format!("id = \"corp\"\n{oidc}issuer = \"http://sso.example.com\""), "identity_providers[1].issuer: \"http://sso.example.com\" must be https"),
        (format!("id = \"corp\"\n{oidc}issuer = \"https://sso.example.com\"\nscopes = [\"email\"]"), "identity_providers[1].scopes: must include \"openid\""),
        (
            "id = \"corp\"\nname = \"Corp\"\nkind = \"oidc\"\nclient_id = \"c\"\nissuer = \"https://sso.example.com\"".into(),
            "identity_providers[1].client_secret: required (or client_secret_file)",
        ),
        (
            format!("id = \"corp\"\n{oidc}issuer = \"https://sso.example.com\"\nclient_secret_file = \"/nonexistent/secret\""),
            "identity_providers[1].client_secret_file: give client_secret or client_secret_file, not both",
        ),
        (
            "id = \"corp\"\nname = \"Corp\"\nkind = \"oidc\"\nclient_id = \"c\"\nissuer = \"https://sso.example.com\"\nclient_secret_file = \"/nonexistent/secret\"".into(),
            "identity_providers[1].client_secret_file: cannot read /nonexistent/secret",
        ),
        (
            "id = \"gh\"\nname = \"GH\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nissuer = \"https://github.com\"".into(),
            "identity_providers[1].issuer: kind = \"github\" takes no issuer",
        ),
        (format!("id = \"corp\"\n{oidc}issuer = \"https://sso.example.com\"\ncolour = \"red\""), "identity_providers[1].colour: unknown configuration key"),
        ("id = \"corp\"\nname = \"Corp\"\nkind = \"saml\"\nclient_id = \"c\"\nclient_secret = \"s\"".into(), "identity_providers[1].kind: "),
    ] {
        let toml = format!(
            "[[identity_providers]]\nid = \"github\"\nname = \"GitHub\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\n[[identity_providers]]\n{entry}\n"
        );
        let run = check(&cli, &toml).await.expect_code(2);
        let line = run.only_error_line();
        assert!(line.starts_with(&format!("error: {expected}")), "{entry}:\n{line}");
        assert!(!line.contains("\"s\"") , "no secret in the message: {line}");
    }
}
