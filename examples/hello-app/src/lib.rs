//! hello-app: how a Rust web application embeds Portcullis. The app keeps its own
//! routes; Portcullis adds sign-up, sign-in, the account page and the JSON API, and
//! its extractors guard the app's handlers:
//!
//! - [`MaybeUser`] is Flask-Login's `current_user`: `Some` when signed in;
//! - [`CurrentUser`] is `@login_required`: browsers are redirected to
//!   `/login?next=...`, API clients get a 401 problem+json;
//! - [`InGroup`] and [`require_group`] are Flask-Security's `@roles_required`, on
//!   one handler or on a whole router: a signed-in user outside the group gets 403
//!   (a page for browsers, problem+json for API clients). Groups are managed with
//!   `portcullis group create/add/remove` (SPEC §7).

use std::sync::Arc;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use portcullis::{Config, Portcullis};
use portcullis_core::Clock;
use portcullis_web::extract::{CurrentUser, InGroup, MaybeUser, RequiredGroup, require_group};

/// Opens Portcullis (database, migrations, secrets) for an instance reachable at
/// `public_url` and returns the whole application: the app's routes plus Portcullis's.
pub async fn build(config: &Config, public_url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Router> {
    let portcullis = Portcullis::open(config, public_url, clock).await?;
    // Purges expired sessions every ten minutes. Detached: it lives as long as the
    // Tokio runtime does.
    drop(portcullis.spawn_maintenance());
    Ok(app(&portcullis))
}

/// The app's own routes, wired to `portcullis`. They must not clash with the paths
/// Portcullis serves (`/`, `/login`, `/account`, `/api/v1/...`, ...) and must not set
/// a fallback: Portcullis's router already has one.
pub fn app(portcullis: &Portcullis) -> Router {
    // Every route under /ops needs the group `ops`: one layer for the router.
    let ops = Router::new()
        .route("/ops", get(ops_dashboard))
        .route("/ops/api/status", get(ops_status))
        .route_layer(require_group::<Ops>());
    let routes = Router::new()
        .route("/hello", get(hello))
        .route("/members", get(members))
        .route("/members/api/whoami", get(whoami))
        .route("/staff", get(staff))
        .merge(ops);
    // `with_app` gives these routes what Portcullis's own have (security headers,
    // panic recovery, timeout, body limit, and the state the extractors read), then
    // merges in Portcullis's routes.
    portcullis.with_app(routes)
}

/// Public: anyone may look, signed-in users are greeted by email.
async fn hello(MaybeUser(me): MaybeUser) -> Html<String> {
    let body = match me {
        Some(me) => format!("<p>Hello, {}!</p>", escape(&me.user.email)),
        None => r#"<p>Hello, stranger! <a href="/login?next=%2Fhello">Sign in</a></p>"#.to_owned(),
    };
    page("Hello", &body)
}

/// Protected page: only runs for a signed-in user.
async fn members(CurrentUser(me): CurrentUser) -> Html<String> {
    let body = format!(
        r#"<h1>Members only</h1><p>Signed in as {}.</p><p><a href="/account">Your account</a></p>"#,
        escape(&me.user.email)
    );
    page("Members only", &body)
}

/// Protected JSON: the same extractor, a JSON answer. (Anonymous API clients get a
/// 401 problem+json, because they do not ask for `text/html`.)
async fn whoami(CurrentUser(me): CurrentUser) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "email": me.user.email }))
}

/// The group `staff`, required by the `/staff` handler.
pub struct Staff;
impl RequiredGroup for Staff {
    const NAME: &'static str = "staff";
}

/// The group `ops`, required by every route of the `/ops` router.
pub struct Ops;
impl RequiredGroup for Ops {
    const NAME: &'static str = "ops";
}

/// One handler that needs a group: the extractor.
async fn staff(InGroup(me, ..): InGroup<Staff>) -> Html<String> {
    let body = format!("<h1>Staff room</h1><p>Welcome, {}.</p>", escape(&me.user.email));
    page("Staff room", &body)
}

/// Behind `require_group::<Ops>()`: the handler itself needs no extractor.
async fn ops_dashboard() -> Html<String> {
    page("Operations", "<h1>Operations</h1>")
}

async fn ops_status(CurrentUser(me): CurrentUser) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok", "groups": me.user.groups }))
}

/// A minimal HTML document. `title` is trusted text; `body` is HTML whose user data
/// already went through [`escape`].
fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body>{body}</body></html>\n"
    ))
}

/// Escapes text for HTML element content and quoted attribute values. Every piece of
/// user data in a page goes through here (or use an autoescaping template engine).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_neutralises_every_html_special_character() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#x27;y&#x27;)&lt;/script&gt;"
        );
    }

    #[test]
    fn escape_leaves_ordinary_text_alone() {
        assert_eq!(escape("ada@example.com"), "ada@example.com");
    }
}
