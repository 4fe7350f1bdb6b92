//! What `/oauth2/authorize` does with the parameters that choose how it answers
//! (issue #13, finding 12): request objects (`request`, `request_uri`) are refused
//! back to the client, `response_mode=form_post` delivers the answer in a page that
//! posts it to the redirect URI, and any other response mode is refused.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, backend_tests, client, location};
use crate::oidc::{REDIRECT, Rp, authorize_path, exchange, pkce, query, register_client};

backend_tests!(
    request_objects_are_refused_back_to_the_client,
    an_unknown_response_mode_is_refused_and_query_is_the_default,
    form_post_answers_with_a_page_that_posts_the_code_to_the_redirect_uri,
);

/// The form of a `form_post` page: its method, action and hidden fields, unescaped.
struct PostedForm {
    method: String,
    action: String,
    fields: HashMap<String, String>,
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    tag.split(&format!(" {name}=\"")).nth(1)?.split('"').next().map(unescape)
}

fn posted_form(html: &str) -> PostedForm {
    let forms: Vec<&str> = html.split('<').filter(|t| t.starts_with("form ")).collect();
    assert_eq!(forms.len(), 1, "one form: {html}");
    let fields = html
        .split('<')
        .filter(|t| t.starts_with("input ") && attr(t, "type").as_deref() == Some("hidden"))
        .map(|t| (attr(t, "name").unwrap(), attr(t, "value").unwrap()))
        .collect();
    PostedForm {
        method: attr(forms[0], "method").unwrap(),
        action: attr(forms[0], "action").unwrap(),
        fields,
    }
}

fn csp(res: &reqwest::Response) -> String {
    res.headers()["content-security-policy"].to_str().unwrap().to_owned()
}

async fn request_objects_are_refused_back_to_the_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("mode1@example.com").await;
    let (_, challenge) = pkce();
    for (param, value, error) in [
        ("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.", "request_not_supported"),
        ("request_uri", "https://rp.example/request.jwt", "request_uri_not_supported"),
    ] {
        let res = app.get(&browser, &authorize_path(&rp, Some(&challenge), &[(param, value)])).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{param}");
        assert!(location(&res).starts_with(REDIRECT), "{}", location(&res));
        let q = query(&res);
        assert_eq!(q.get("error").map(String::as_str), Some(error), "{param}: {q:?}");
        assert!(!q.contains_key("code"), "{param}: no code");
        assert_eq!(q["state"], "st-123");
        assert_eq!(q["iss"], app.base.as_str());
        // Before the client and its redirect URI are known good, it is a page.
        let unknown = Rp { id: "nobody".into(), secret: None };
        let res = app.get(&browser, &authorize_path(&unknown, Some(&challenge), &[(param, value)])).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{param}");
        assert!(res.headers().get("location").is_none());
    }
}

async fn an_unknown_response_mode_is_refused_and_query_is_the_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("mode2@example.com").await;
    let (verifier, challenge) = pkce();
    for mode in ["fragment", "form_post.jwt", "QUERY"] {
        let res = app.get(&browser, &authorize_path(&rp, Some(&challenge), &[("response_mode", mode)])).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{mode}");
        let q = query(&res);
        assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"), "{mode}: {q:?}");
        assert_eq!(q["state"], "st-123");
    }
    let res = app.get(&browser, &authorize_path(&rp, Some(&challenge), &[("response_mode", "query")])).await;
    let q = query(&res);
    assert_eq!(exchange(&app, &rp, &q["code"], Some(&verifier)).await.status(), StatusCode::OK);
    let d: Value = app.get(&client(), "/.well-known/openid-configuration").await.json().await.unwrap();
    assert_eq!(d["response_modes_supported"], serde_json::json!(["query", "form_post"]));
    assert_eq!(d["request_parameter_supported"], false);
    assert_eq!(d["request_uri_parameter_supported"], false);
}

async fn form_post_answers_with_a_page_that_posts_the_code_to_the_redirect_uri(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("mode3@example.com").await;
    let (verifier, challenge) = pkce();
    let form_post = [("response_mode", "form_post")];
    let res = app.get(&browser, &authorize_path(&rp, Some(&challenge), &form_post)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("location").is_none());
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(res.headers()["cache-control"], "no-store", "the page carries a code");
    let policy = csp(&res);
    let html = res.text().await.unwrap();
    let form = posted_form(&html);
    assert_eq!(form.method, "post");
    assert_eq!(form.action, REDIRECT, "posts to exactly the redirect URI");
    assert_eq!(form.fields["state"], "st-123");
    assert_eq!(form.fields["iss"], app.base.as_str());
    assert_eq!(form.fields.len(), 3, "code, state, iss: {:?}", form.fields.keys());
    // Submitted by a script file (no inline script), or by the visible button.
    assert!(html.contains("<script src=\"/static/form_post.js\""), "{html}");
    assert!(html.contains("type=\"submit\"") && html.contains("Continue"), "{html}");
    let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
    assert!(directives.contains(&"form-action http://127.0.0.1:9"), "{policy}");
    assert!(directives.contains(&"script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
    let script = app.get(&client(), "/static/form_post.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("submit"));
    // Other pages keep posting only to this origin.
    let login = app.get(&client(), "/login").await;
    assert!(csp(&login).contains("form-action 'self';"), "{}", csp(&login));
    // The code is as good as one from a redirect.
    let res = exchange(&app, &rp, &form.fields["code"], Some(&verifier)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.json::<Value>().await.unwrap()["id_token"].is_string());

    // Errors travel the same way: refused request objects, and prompt=none.
    let anonymous = client();
    let with =
        |extra: &[(&str, &str)]| authorize_path(&rp, Some(&challenge), &[&form_post[..], extra].concat());
    for (extra, who, error) in [
        (("request", "x.y.z"), &browser, "request_not_supported"),
        (("prompt", "none"), &anonymous, "login_required"),
    ] {
        let res = app.get(who, &with(&[extra])).await;
        assert_eq!(res.status(), StatusCode::OK, "{extra:?}");
        let policy = csp(&res);
        let form = posted_form(&res.text().await.unwrap());
        assert_eq!((form.method.as_str(), form.action.as_str()), ("post", REDIRECT));
        assert_eq!(form.fields.get("error").map(String::as_str), Some(error), "{:?}", form.fields);
        assert_eq!(form.fields["state"], "st-123");
        assert_eq!(form.fields["iss"], app.base.as_str());
        assert!(!form.fields.contains_key("code"));
        assert!(policy.contains("form-action http://127.0.0.1:9;"), "{policy}");
    }
}
