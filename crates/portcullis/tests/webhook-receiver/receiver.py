"""A webhook receiver for the integration tests: a real HTTP server that checks
every request with the Standard Webhooks reference library (PyPI
`standardwebhooks`) and reports each verified event on stdout.

Usage: receiver.py [PORT]  (0 or absent: an ephemeral port)
stdout: "listening PORT", then one JSON line per request:
        {"path": ..., "verified": true, "id": webhook-id, "payload": {...}}
        or {"path": ..., "verified": false, "error": "..."} (answered 400).
stdin:  "secret PATH SECRET" lines: the signing secret for requests to PATH
        (acknowledged with {"ack": PATH}).
A request to a PATH with no secret yet is answered 503 (so it is retried).
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRETS = {}
LOCK = threading.Lock()


def report(record):
    with LOCK:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with LOCK:
            secret = SECRETS.get(self.path)
        if secret is None:
            self.send_response(503)
            self.end_headers()
            return
        try:
            payload = Webhook(secret).verify(body, dict(self.headers.items()))
        except WebhookVerificationError as e:
            report({"path": self.path, "verified": False, "error": str(e)})
            self.send_response(400)
            self.end_headers()
            return
        report({"path": self.path, "verified": True, "id": self.headers["webhook-id"], "payload": payload})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    report_line = "listening %d\n" % server.server_address[1]
    with LOCK:
        sys.stdout.write(report_line)
        sys.stdout.flush()
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "secret":
            with LOCK:
                SECRETS[parts[1]] = parts[2]
            report({"ack": parts[1]})
    server.shutdown()


if __name__ == "__main__":
    main()
