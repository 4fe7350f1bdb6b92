"""The Flask tutorial's application (register, log in, log out, a protected page),
with every account matter delegated to Portcullis over OpenID Connect.

Authlib runs the authorization-code flow with PKCE, checks the ID token against
Portcullis' published keys, and keeps the user in Flask's signed session. Users
register, reset passwords, turn on MFA or passkeys at Portcullis; this app never
sees a password.

Run it (see README.md):
    PORTCULLIS_URL=http://127.0.0.1:8080 PORTCULLIS_CLIENT_ID=... \
    PORTCULLIS_CLIENT_SECRET=... FLASK_SECRET_KEY=... python app.py
"""

import os
import secrets
from functools import wraps
from urllib.parse import urlencode

from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, redirect, render_template_string, request, session, url_for

PORTCULLIS_URL = os.environ.get("PORTCULLIS_URL", "http://127.0.0.1:8080").rstrip("/")

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("FLASK_SECRET_KEY") or secrets.token_hex(32),
    # The session cookie never rides on another site's requests (logout is a POST).
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
    SESSION_COOKIE_SECURE=os.environ.get("FLASK_SECURE_COOKIES") == "1",
)

oauth = OAuth(app)
oauth.register(
    name="portcullis",
    client_id=os.environ["PORTCULLIS_CLIENT_ID"],
    client_secret=os.environ["PORTCULLIS_CLIENT_SECRET"],
    server_metadata_url=f"{PORTCULLIS_URL}/.well-known/openid-configuration",
    client_kwargs={"scope": "openid email", "code_challenge_method": "S256"},
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
{% if user %}
  <p id="who">Signed in as {{ user.email }}</p>
  <form method="post" action="{{ url_for('logout') }}"><button type="submit">Log out</button></form>
{% else %}
  <p id="who">You are not signed in.</p>
  <p><a href="{{ url_for('login') }}">Log in</a> ·
     <a href="{{ portcullis }}/register">Register</a></p>
{% endif %}
<p><a href="{{ url_for('profile') }}">Your profile</a> (protected)</p>
</body></html>"""


def login_required(view):
    """The tutorial's decorator: anonymous visitors are sent to log in first."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if "user" not in session:
            return redirect(url_for("login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def render(title):
    return render_template_string(PAGE, title=title, user=session.get("user"), portcullis=PORTCULLIS_URL)


@app.route("/")
def index():
    return render("Home")


@app.route("/profile")
@login_required
def profile():
    return render("Profile")


@app.route("/login")
def login():
    nxt = request.args.get("next", "")
    # Only local paths: never an open redirect.
    session["next"] = nxt if nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt else "/"
    return oauth.portcullis.authorize_redirect(url_for("callback", _external=True))


@app.route("/callback")
def callback():
    if "error" in request.args:
        abort(403)
    # Exchanges the code (with the PKCE verifier) and validates the ID token:
    # signature against Portcullis' JWKS, issuer, audience, expiry and nonce.
    token = oauth.portcullis.authorize_access_token()
    claims = token["userinfo"]
    session.clear()
    session["user"] = {"sub": claims["sub"], "email": claims.get("email")}
    session["id_token"] = token["id_token"]
    return redirect(session.pop("next", None) or url_for("profile"))


@app.route("/logout", methods=["POST"])
def logout():
    id_token = session.get("id_token")
    session.clear()
    end_session = oauth.portcullis.load_server_metadata().get("end_session_endpoint")
    if not end_session or not id_token:
        return redirect(url_for("index"))
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": url_for("index", _external=True)})
    return redirect(f"{end_session}?{query}")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
