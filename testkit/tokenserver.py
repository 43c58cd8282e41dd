#!/usr/bin/python3
"""tokenserver.py - a Docker-Hub-like Bearer token service for tests.

Issues ES256 JSON Web Tokens the way auth.docker.io does, for a
docker-registry configured with `auth: token` (see ./registry, which starts
both).  The protocol is the distribution "token authentication
specification" (docs/spec/auth/token.md, jwt.md, oauth.md):

  GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...]&account=U
       optional HTTP Basic credentials
  POST /token   grant_type=password|refresh_token (OAuth2, as `docker login`)

Policy (like Docker Hub's for a private/public repository):
  * wrong credentials                 -> 401 {"details": "incorrect username or password"}
  * right credentials                 -> pull and push on every repository
  * anonymous, with --anonymous-pull  -> pull only
  * anonymous, without                -> a token with no access (the registry
                                         then answers 401 insufficient_scope)

The JWT header carries the signing certificate ("x5c"); the registry trusts
it because the same self-signed certificate is its `rootcertbundle`.

docker-registry 2.8 accepts a token up to 60 s after its "exp" (a leeway for
clock skew, registry/auth/token/token.go).  So that a token really stops
working after --expiry seconds, "exp" is written as issued_at + expiry - 60
(--registry-leeway); "expires_in" in the JSON answer is the honest lifetime.

Each request is logged as one line to --log:
  TIME METHOD PATH auth=none|basic|bearer user=NAME status=CODE scope=...
so that tests can count token requests.

Run `tokenserver.py --help` for the options.  Needs python3-cryptography
(use /usr/bin/python3).
"""
import argparse
import base64
import datetime
import hmac
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

REGISTRY_LEEWAY = 60  # seconds; distribution's token.Leeway


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def make_cert(key_path, cert_path, name="box-testkit-token"):
    """Write a P-256 key and a self-signed certificate for it (1 day)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


class Signer:
    """ES256 JWS signing with the x5c header (RFC 7515 4.1.6, RFC 7518 3.4)."""

    def __init__(self, key_path, cert_path):
        with open(key_path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        der = cert.public_bytes(serialization.Encoding.DER)
        self.header = {"alg": "ES256", "typ": "JWT",
                       "x5c": [base64.b64encode(der).decode()]}

    def sign(self, claims):
        head = b64url(json.dumps(self.header, separators=(",", ":")).encode())
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = (head + "." + body).encode()
        der = self.key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        # JWS wants r||s, 32 bytes each, not the DER sequence.
        r, s = decode_dss_signature(der)
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return head + "." + body + "." + b64url(sig)


def parse_scopes(values):
    """'repository:a/b:pull,push' (may repeat; may be space separated)."""
    out = []
    for value in values:
        for scope in value.split(" "):
            if not scope:
                continue
            # The name may hold a ':' (a registry host with a port), so split
            # the type off the front and the actions off the back.
            typ, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if not typ or not name:
                continue
            out.append((typ, name, [a for a in actions.split(",") if a]))
    return out


class TokenServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # the client went away; nothing to say
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    server_version = "box-testkit-tokenserver/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: we keep our own log
        pass

    # -- authentication -------------------------------------------------
    def credentials(self):
        """Return (kind, user, ok) from the Authorization header."""
        header = self.headers.get("Authorization", "")
        if not header:
            return "none", "", True
        kind, _, value = header.partition(" ")
        if kind.lower() != "basic":
            return kind.lower(), "", False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "basic", "", False
        return "basic", user, self.check_password(user, password)

    def check_password(self, user, password):
        opts = self.server.opts
        if opts.user is None:
            return False
        return (hmac.compare_digest(user, opts.user) and
                hmac.compare_digest(password, opts.password))

    def allowed(self, user):
        if user:
            return {"pull", "push", "*"}
        return {"pull"} if self.server.opts.anonymous_pull else set()

    # -- answers --------------------------------------------------------
    def send_json(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request_line(self, auth, user, code, scopes):
        line = "%s %s %s auth=%s user=%s status=%d scope=%s\n" % (
            rfc3339(time.time()), self.command, self.path, auth,
            user or "-", code, " ".join(scopes) or "-")
        with self.server.log_lock:
            with open(self.server.opts.log, "a") as f:
                f.write(line)

    def issue(self, user, service, scopes, client_id=""):
        opts = self.server.opts
        now = int(time.time())
        access = []
        allowed = self.allowed(user)
        for typ, name, actions in parse_scopes(scopes):
            granted = [a for a in actions if a in allowed]
            if typ == "registry" and not user:
                granted = []
            access.append({"type": typ, "name": name, "actions": granted})
        push = any("push" in a["actions"] or "*" in a["actions"] for a in access)
        expiry = opts.push_expiry if push else opts.expiry
        claims = {
            "iss": opts.issuer,
            "sub": user,
            "aud": service or opts.service,
            "exp": now + expiry - opts.registry_leeway,
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = self.server.signer.sign(claims)
        return {"token": token, "access_token": token, "expires_in": expiry,
                "issued_at": rfc3339(now)}

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = query.get("scope", [])
        if url.path != "/token":
            self.send_json(404, {"details": "not found"})
            self.log_request_line("-", "", 404, scopes)
            return
        auth, user, ok = self.credentials()
        if not ok:
            self.send_json(401, {"details": "incorrect username or password"},
                           {"Www-Authenticate": 'Basic realm="box-testkit"'})
            self.log_request_line(auth, user, 401, scopes)
            return
        service = query.get("service", [""])[0]
        self.send_json(200, self.issue(user, service, scopes))
        self.log_request_line(auth, user, 200, scopes)

    def do_POST(self):
        """OAuth2 (docs/spec/auth/oauth.md): password and refresh_token grants."""
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        field = lambda k: form.get(k, [""])[0]
        scopes = form.get("scope", [])
        auth = "none"
        if url.path != "/token":
            self.send_json(404, {"details": "not found"})
            self.log_request_line(auth, "", 404, scopes)
            return
        grant = field("grant_type")
        user = ""
        if grant == "password":
            auth = "password"
            user = field("username")
            ok = self.check_password(user, field("password"))
        elif grant == "refresh_token":
            auth = "refresh"
            user = self.server.refresh.get(field("refresh_token"), "")
            ok = bool(user)
        else:
            self.send_json(400, {"error": "unsupported_grant_type"})
            self.log_request_line(auth, user, 400, scopes)
            return
        if not ok:
            self.send_json(401, {"error": "invalid_grant",
                                 "details": "incorrect username or password"})
            self.log_request_line(auth, user, 401, scopes)
            return
        answer = self.issue(user, field("service"), scopes)
        answer["scope"] = " ".join(scopes)
        del answer["token"]  # the OAuth2 answer names it access_token only
        if field("access_type") == "offline" or grant == "refresh_token":
            refresh = field("refresh_token") or secrets.token_hex(16)
            self.server.refresh[refresh] = user
            answer["refresh_token"] = refresh
        self.send_json(200, answer)
        self.log_request_line(auth, user, 200, scopes)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def daemonize(log_path):
    """Fork into the background; the parent returns only once we are ready."""
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        ok = os.read(r, 1)
        os._exit(0 if ok == b"1" else 1)
    os.close(r)
    os.setsid()
    # Keep no descriptor of our caller's (a test harness's pipe, a lock).
    os.closerange(3, w)
    os.closerange(w + 1, os.sysconf("SC_OPEN_MAX"))
    fd = os.open("/dev/null", os.O_RDONLY)
    os.dup2(fd, 0)
    out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    return w


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--pid-file", help="write our PID here")
    p.add_argument("--key", required=True, help="PEM private key (P-256)")
    p.add_argument("--cert", required=True, help="PEM certificate of --key")
    p.add_argument("--gen-cert", action="store_true",
                   help="create --key and --cert first")
    p.add_argument("--issuer", default="box-testkit-token")
    p.add_argument("--service", default="box-testkit-registry",
                   help="audience when the request names no service")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--anonymous-pull", action="store_true")
    p.add_argument("--expiry", type=int, default=300,
                   help="lifetime in seconds of pull-only tokens")
    p.add_argument("--push-expiry", type=int, default=None,
                   help="lifetime of tokens that grant push (default: "
                        "max(--expiry, 300); skopeo keeps every token >= 60 s)")
    p.add_argument("--registry-leeway", type=int, default=REGISTRY_LEEWAY,
                   help="subtracted from exp (docker-registry adds it back)")
    p.add_argument("--log", default="/dev/null", help="request log")
    p.add_argument("--daemon", metavar="OUTPUT_LOG",
                   help="detach; stdout/stderr to OUTPUT_LOG")
    opts = p.parse_args()
    if (opts.user is None) != (opts.password is None):
        p.error("--user and --password go together")
    if opts.push_expiry is None:
        opts.push_expiry = max(opts.expiry, 300)
    if opts.gen_cert:
        make_cert(opts.key, opts.cert)

    ready = daemonize(opts.daemon) if opts.daemon else None
    server = TokenServer((opts.host, opts.port), Handler)
    server.opts = opts
    server.signer = Signer(opts.key, opts.cert)
    server.log_lock = threading.Lock()
    server.refresh = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if opts.pid_file:
        write_atomic(opts.pid_file, "%d\n" % os.getpid())
    if opts.port_file:
        write_atomic(opts.port_file, "%d\n" % server.server_address[1])
    if ready is not None:
        os.write(ready, b"1")
        os.close(ready)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
