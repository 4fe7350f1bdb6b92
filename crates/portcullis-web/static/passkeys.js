// Passkeys for the Portcullis pages: the only script they load (the CSP forbids
// inline script). It shows the passkey buttons when the browser supports WebAuthn
// and runs the ceremonies through the JSON API (/api/v1/passkeys/*,
// /api/v1/login/passkey/*); without it, every page still works with a password.
"use strict";
(function () {
  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const s = atob(b64 + "===".slice((b64.length + 3) % 4));
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes.buffer;
  }

  // The server's JSON options, with the binary fields the browser wants as buffers.
  function toCreateOptions(json) {
    const pk = Object.assign({}, json.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) });
    pk.excludeCredentials = (pk.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
    return { publicKey: pk };
  }

  function toGetOptions(json) {
    const pk = Object.assign({}, json.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.allowCredentials = (pk.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
    return { publicKey: pk };
  }

  function registrationJSON(cred) {
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(cred.response.attestationObject),
        clientDataJSON: toB64url(cred.response.clientDataJSON),
      },
      extensions: cred.getClientExtensionResults(),
    };
  }

  function assertionJSON(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
      extensions: cred.getClientExtensionResults(),
    };
  }

  // POSTs JSON to the API; resolves with the parsed answer, rejects with its detail.
  async function api(path, body) {
    const res = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error((data && data.detail) || "the server refused (" + res.status + ")");
    return data;
  }

  async function signIn() {
    const options = await api("/api/v1/login/passkey/start");
    const cred = await navigator.credentials.get(toGetOptions(options));
    const remember = document.querySelector('input[name="remember_me"]');
    await api("/api/v1/login/passkey/finish", {
      credential: assertionJSON(cred),
      remember_me: Boolean(remember && remember.checked),
    });
  }

  async function register(form) {
    const password = form.querySelector('input[name="password"]');
    const start = password && password.value ? { password: password.value } : {};
    const options = await api("/api/v1/passkeys/register/start", start);
    const cred = await navigator.credentials.create(toCreateOptions(options));
    const name = form.querySelector('input[name="name"]').value;
    await api("/api/v1/passkeys/register/finish", { name: name, credential: registrationJSON(cred) });
  }

  function nextTarget() {
    const next = document.querySelector('input[name="next"]');
    return (next && next.value) || "/account";
  }

  function showError(err) {
    const box = document.getElementById("passkey-error");
    if (!box) return;
    const cancelled = err && (err.name === "NotAllowedError" || err.name === "AbortError");
    box.textContent = cancelled ? "The passkey request was cancelled or timed out." : String(err.message || err);
    box.hidden = false;
  }

  function wire(id, action) {
    const el = document.getElementById(id);
    if (!el) return;
    el.hidden = false;
    const trigger = el.tagName === "FORM" ? "submit" : "click";
    el.addEventListener(trigger, async function (event) {
      event.preventDefault();
      el.setAttribute("aria-busy", "true");
      try {
        await action(el);
      } catch (err) {
        showError(err);
      } finally {
        el.removeAttribute("aria-busy");
      }
    });
  }

  window.portcullisPasskeys = { toCreateOptions, toGetOptions, registrationJSON, assertionJSON, api };

  if (!window.PublicKeyCredential || !navigator.credentials) return;
  document.querySelectorAll(".passkey-only").forEach(function (el) {
    el.hidden = false;
  });
  wire("passkey-login", async function () {
    await signIn();
    window.location.assign(nextTarget());
  });
  wire("passkey-add", async function (form) {
    await register(form);
    window.location.assign("/account");
  });
})();
