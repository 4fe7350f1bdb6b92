"""The Flask tutorial's application as it was before it handed its accounts to
Portcullis: Flask-SQLAlchemy keeps a `user` table, Werkzeug hashes the passwords
with its defaults (`scrypt:32768:8:1$salt$hex` since Werkzeug 3), and the app
has its own register, log in and log out pages.

It exists to show (and test) the way out: `docs/migrating-from-flask.md`
exports this `user` table with the sqlite3 command line, imports it with
`portcullis user import`, and every user signs in to Portcullis with the password
they already had. After that the app becomes `examples/flask-app`.

Run it:
    FLASK_SECRET_KEY=... LEGACY_DATABASE=/path/to/legacy.db python app.py
(`LEGACY_PORT`, default 5000, is the port on 127.0.0.1.)
"""

import os
import secrets
from datetime import datetime, timezone
from functools import wraps

from flask import Flask, flash, g, redirect, render_template_string, request, session, url_for
from flask_sqlalchemy import SQLAlchemy
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("FLASK_SECRET_KEY") or secrets.token_hex(32),
    SQLALCHEMY_DATABASE_URI="sqlite:///"
    + os.path.abspath(os.environ.get("LEGACY_DATABASE", "legacy.db")),
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
)
db = SQLAlchemy(app)


class User(db.Model):
    """The tutorial's model: SQLAlchemy names its table `user`."""

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), unique=True, nullable=False)
    password_hash = db.Column(db.String(256), nullable=False)
    created_at = db.Column(
        db.DateTime, nullable=False, default=lambda: datetime.now(timezone.utc).replace(tzinfo=None)
    )


with app.app_context():
    db.create_all()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
{% if form %}
<form method="post">
  <label>Email <input name="email" type="email" autocomplete="email" required></label>
  <label>Password <input name="password" type="password" autocomplete="{{ form }}" required></label>
  <button type="submit">{{ title }}</button>
</form>
{% elif g.user %}
  <p id="who">Signed in as {{ g.user.email }}</p>
  <form method="post" action="{{ url_for('logout') }}"><button type="submit">Log out</button></form>
{% else %}
  <p id="who">You are not signed in.</p>
  <p><a href="{{ url_for('login') }}">Log in</a> · <a href="{{ url_for('register') }}">Register</a></p>
{% endif %}
</body></html>"""


@app.before_request
def load_logged_in_user():
    user_id = session.get("user_id")
    g.user = db.session.get(User, user_id) if user_id is not None else None


def login_required(view):
    @wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("login"))
        return view(**kwargs)

    return wrapped


@app.route("/")
def index():
    return render_template_string(PAGE, title="Home", form=None)


@app.route("/register", methods=("GET", "POST"))
def register():
    if request.method == "POST":
        email = request.form["email"].strip()
        password = request.form["password"]
        if not email or not password:
            flash("Email and password are required.")
        elif db.session.execute(db.select(User).filter_by(email=email)).scalar() is not None:
            flash(f"User {email} is already registered.")
        else:
            db.session.add(User(email=email, password_hash=generate_password_hash(password)))
            db.session.commit()
            return redirect(url_for("login"))
    return render_template_string(PAGE, title="Register", form="new-password")


@app.route("/login", methods=("GET", "POST"))
def login():
    if request.method == "POST":
        user = db.session.execute(
            db.select(User).filter_by(email=request.form["email"].strip())
        ).scalar()
        if user is None or not check_password_hash(user.password_hash, request.form["password"]):
            flash("Incorrect email or password.")
        else:
            session.clear()
            session["user_id"] = user.id
            return redirect(url_for("index"))
    return render_template_string(PAGE, title="Log in", form="current-password")


@app.route("/logout", methods=("POST",))
def logout():
    session.clear()
    return redirect(url_for("index"))


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("LEGACY_PORT", "5000")))
