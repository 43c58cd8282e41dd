#!/usr/bin/python3
"""regproxy.py - a misbehaving HTTP proxy in front of a registry, for tests.

  regproxy.py --upstream HOST:PORT --mode MODE [--digest sha256:HEX]
              [--port N] [--port-file F] [--pid-file F] [--log F]
              [--times N] [--redirect-port-file F] [--daemon OUTPUT_LOG]

Every request is forwarded unchanged (method, path, headers including
Authorization, body streamed) and every answer comes back unchanged, except:

Blob GETs (/v2/NAME/blobs/DIGEST; only DIGEST if --digest is given):
  pass           forward everything (useful for the request log)
  tamper         flip one byte in the middle of the body (same length)
  truncate       send the full Content-Length, then close after half the body
  stall          send half the body, then send nothing more (connection open)
  hang-blob      accept the request and never answer it
  error500-once  answer the first --times (1) matching GETs with 500, then behave
  drop-once      close the first --times (1) matching GETs without an answer
  redirect       where upstream would answer 200, answer 307 Location:
                 http://localhost:PORT2/blob/KEY/DIGEST instead, served by this
                 proxy on a second socket; that target answers 400 if the
                 request carries an Authorization header (a client must not
                 send a registry token to a CDN host), else the blob (fetched
                 from upstream with the Authorization of the redirected GET:
                 KEY plays the part of a CDN's signed URL)
  slow           send the blob at --rate bytes/s (default 1 MiB/s)
Blob uploads (PUT and PATCH of /v2/NAME/blobs/uploads/...; with --digest,
only a PUT whose ?digest= is DIGEST), the first --times (1) of them:
  upload-error500  read the body, answer 500 (the registry never sees it)
  upload-drop      read half the body, then close the connection
Every answer:
  relative-location  a Location header becomes relative ("/v2/..."), as
                 some registries send it (upload sessions, new blobs)
Every request:
  hang           accept connections and never answer anything
Manifest GETs and HEADs (/v2/NAME/manifests/REF) that upstream answers 200:
  schema1            answer a Docker schema 1 signed manifest
                     (application/vnd.docker.distribution.manifest.v1+prettyjws)
  unknown-mediatype  the upstream manifest with mediaType and Content-Type
                     application/vnd.example.unknown.v1+json
  huge-manifest      the upstream manifest padded (an annotation) to 5 MiB

Each request is logged as one line to --log:
  TIME LISTENER METHOD PATH auth=yes|no action=ACTION status=CODE
LISTENER is "proxy" or "cdn" (the redirect target); ACTION names what the
mode did ("forward", "tamper", "redirect", ...).

The proxy writes its port to --port-file once it listens and its PID to
--pid-file.  With --daemon it detaches (new session, stdio to OUTPUT_LOG)
and the command returns once the proxy is ready.  stdlib only.
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate",
              "proxy-authorization", "te", "trailer", "trailers",
              "transfer-encoding", "upgrade"}
BLOB_RE = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[a-z0-9+._-]+:[a-fA-F0-9]+)$")
MANIFEST_RE = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
UNKNOWN = "application/vnd.example.unknown.v1+json"
HUGE = 5 * 1024 * 1024
BLOB_MODES = {"pass", "tamper", "truncate", "stall", "hang-blob",
              "error500-once", "drop-once", "redirect", "slow"}
MANIFEST_MODES = {"schema1", "unknown-mediatype", "huge-manifest"}
UPLOAD_MODES = {"upload-error500", "upload-drop"}
HEADER_MODES = {"relative-location"}
UPLOAD_RE = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/[^?]+(\?(?P<query>.*))?$")
MODES = BLOB_MODES | MANIFEST_MODES | UPLOAD_MODES | HEADER_MODES | {"hang"}


class Proxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that gives up mid-answer is what these modes provoke:
        # one line, not a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            print("%s client %s: %s" % (now(), client_address[0], exc), file=sys.stderr)
            return
        super().handle_error(request, client_address)


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class State:
    """What the handlers share: options, the log, the *-once counter."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.failures_left = opts.times
        self.stop = threading.Event()
        self.redirects = {}  # key -> (upstream path, Authorization or None)
        self.port = 0
        self.cdn_port = 0

    def log(self, listener, method, path, auth, action, status):
        line = "%s %s %s %s auth=%s action=%s status=%s\n" % (
            now(), listener, method, path, "yes" if auth else "no", action, status)
        with self.lock:
            with open(self.opts.log, "a") as f:
                f.write(line)

    def take_failure(self):
        with self.lock:
            if self.failures_left <= 0:
                return False
            self.failures_left -= 1
            return True


class Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "box-testkit-regproxy/1"
    listener = "proxy"

    def log_message(self, fmt, *args):
        pass

    @property
    def state(self):
        return self.server.state

    def note(self, action, status):
        self.state.log(self.listener, self.command, self.path,
                       "Authorization" in self.headers, action, status)

    # -- talking to upstream -------------------------------------------
    def request_body(self):
        """The request body as an iterator of chunks (chunked decoded)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        left = int(self.headers.get("Content-Length", "0") or 0)
        while left > 0:
            data = self.rfile.read(min(CHUNK, left))
            if not data:
                return
            left -= len(data)
            yield data

    def upstream(self, method=None, path=None, headers=None, body=True):
        """Send this request (or a variant) upstream; return the response."""
        conn = http.client.HTTPConnection(self.state.opts.upstream, timeout=300)
        conn.putrequest(method or self.command, path or self.path,
                        skip_host=True, skip_accept_encoding=True)
        items = headers if headers is not None else self.headers.items()
        chunked = False
        for k, v in items:
            if k.lower() == "transfer-encoding" and v.lower() == "chunked":
                chunked = True
            if k.lower() in HOP_BY_HOP:
                continue
            conn.putheader(k, v)
        if not any(k.lower() == "host" for k, _ in items):
            conn.putheader("Host", self.state.opts.upstream)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        if body:
            for data in self.request_body():
                if chunked:
                    conn.send(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    conn.send(data)
            if chunked:
                conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        resp.conn = conn
        return resp

    def rewrite(self, value):
        """Upstream's own address, where it names itself, becomes ours."""
        ours = "127.0.0.1:%d" % self.state.port
        return value.replace(self.state.opts.upstream, ours)

    def send_head(self, resp, length=None, content_type=None, extra=None):
        self.send_response(resp.status, resp.reason)
        has_length = False
        for k, v in resp.getheaders():
            lk = k.lower()
            if lk in HOP_BY_HOP:
                continue
            if lk == "content-length":
                if length is not None:
                    continue
                has_length = True
            if lk == "content-type" and content_type is not None:
                continue
            if lk in ("location", "www-authenticate"):
                v = self.rewrite(v)
            if lk == "location" and self.state.opts.mode == "relative-location":
                parts = urllib.parse.urlsplit(v)
                v = parts.path + ("?" + parts.query if parts.query else "")
            if extra and lk in extra:
                continue
            self.send_header(k, v)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
            has_length = True
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        chunked = (not has_length and self.command != "HEAD" and
                   resp.status not in (204, 304) and resp.status >= 200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        return chunked

    def copy_body(self, resp, chunked, limit=None, flip_at=None, rate=None):
        """Stream resp's body to the client; stop after `limit` bytes."""
        sent = 0
        start = time.monotonic()
        while limit is None or sent < limit:
            want = CHUNK if limit is None else min(CHUNK, limit - sent)
            data = resp.read(want)
            if not data:
                break
            if flip_at is not None and sent <= flip_at < sent + len(data):
                i = flip_at - sent
                data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            sent += len(data)
            if rate:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
        if chunked and limit is None:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return sent

    def forward(self, action="forward"):
        resp = self.upstream()
        chunked = self.send_head(resp)
        if self.command != "HEAD":
            self.copy_body(resp, chunked)
        resp.conn.close()
        self.note(action, resp.status)

    def drop(self):
        """Close the connection at once, whatever was or was not sent."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def wait_forever(self):
        self.state.stop.wait()
        self.close_connection = True

    def send_simple(self, code, body, content_type="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class ProxyHandler(Base):
    def handle(self):
        if self.state.opts.mode == "hang":
            self.state.log("proxy", "-", "-", False, "hang", "-")
            self.wait_forever()
            return
        super().handle()

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_POST(self):
        self.forward()

    def do_PUT(self):
        self.upload()

    def do_PATCH(self):
        self.upload()

    # -- upload modes ---------------------------------------------------
    def upload(self):
        mode = self.state.opts.mode
        m = UPLOAD_RE.match(self.path)
        if not m or mode not in UPLOAD_MODES or not self.upload_matches(m):
            self.forward()
            return
        if not self.state.take_failure():
            self.forward("forward-upload")
            return
        length = int(self.headers.get("Content-Length", "0") or 0)
        if mode == "upload-drop":
            self.rfile.read(length // 2)
            self.note("upload-drop", "-")
            self.drop()
            return
        for _ in self.request_body():
            pass
        body = json.dumps({"errors": [{"code": "UNKNOWN",
                                       "message": "injected upload failure (regproxy)"}]})
        self.send_simple(500, body.encode())
        self.note("upload-error500", 500)

    def upload_matches(self, m):
        digest = self.state.opts.digest
        if digest is None:
            return True
        query = urllib.parse.parse_qs(m.group("query") or "")
        return self.command == "PUT" and digest in query.get("digest", [])

    def do_DELETE(self):
        self.forward()

    def dispatch(self):
        mode = self.state.opts.mode
        blob = BLOB_RE.match(self.path)
        if (blob and self.command == "GET" and mode in BLOB_MODES and
                self.state.opts.digest in (None, blob.group("digest"))):
            getattr(self, "blob_" + mode.replace("-", "_"))(blob)
            return
        manifest = MANIFEST_RE.match(self.path)
        if manifest and mode in MANIFEST_MODES:
            self.fake_manifest(manifest)
            return
        self.forward()

    # -- blob modes -----------------------------------------------------
    def blob_pass(self, m):
        self.forward("forward-blob")

    def blob_slow(self, m):
        resp = self.upstream()
        chunked = self.send_head(resp)
        self.copy_body(resp, chunked, rate=self.state.opts.rate)
        resp.conn.close()
        self.note("slow", resp.status)

    def blob_tamper(self, m):
        resp = self.upstream()
        length = int(resp.getheader("Content-Length", "0") or 0)
        chunked = self.send_head(resp)
        flip = length // 2 if resp.status == 200 and length else None
        self.copy_body(resp, chunked, flip_at=flip)
        resp.conn.close()
        self.note("tamper" if flip is not None else "forward", resp.status)

    def half_body(self, action):
        resp = self.upstream()
        length = int(resp.getheader("Content-Length", "0") or 0)
        if resp.status != 200 or not length:
            chunked = self.send_head(resp)
            self.copy_body(resp, chunked)
            resp.conn.close()
            self.note("forward", resp.status)
            return False
        self.send_head(resp)
        self.copy_body(resp, False, limit=length // 2)
        resp.conn.close()
        self.note(action, resp.status)
        return True

    def blob_truncate(self, m):
        if self.half_body("truncate"):
            self.drop()

    def blob_stall(self, m):
        if self.half_body("stall"):
            self.wait_forever()

    def blob_hang_blob(self, m):
        self.note("hang-blob", "-")
        self.wait_forever()

    def blob_error500_once(self, m):
        if not self.state.take_failure():
            self.forward("forward-blob")
            return
        body = json.dumps({"errors": [{"code": "UNKNOWN",
                                       "message": "injected failure (regproxy)"}]})
        self.send_simple(500, body.encode())
        self.note("error500", 500)

    def blob_drop_once(self, m):
        if not self.state.take_failure():
            self.forward("forward-blob")
            return
        self.note("drop", "-")
        self.drop()

    def blob_redirect(self, m):
        # Ask upstream first, so that its 401 (no token yet) or 404 still
        # reaches the client; only a blob it would serve is redirected.
        resp = self.upstream()
        if resp.status != 200:
            chunked = self.send_head(resp)
            self.copy_body(resp, chunked)
            resp.conn.close()
            self.note("forward", resp.status)
            return
        resp.conn.close()
        key = secrets.token_hex(8)
        with self.state.lock:
            self.state.redirects[key] = (self.path, self.headers.get("Authorization"))
        location = "http://localhost:%d/blob/%s/%s" % (
            self.state.cdn_port, key, m.group("digest"))
        self.send_simple(307, b"", "text/plain", {"Location": location})
        self.note("redirect", 307)

    # -- manifest modes -------------------------------------------------
    def fake_manifest(self, m):
        headers = [(k, v) for k, v in self.headers.items()]
        resp = self.upstream(method="GET", headers=headers, body=False)
        if resp.status != 200:
            chunked = self.send_head(resp)
            if self.command != "HEAD":
                self.copy_body(resp, chunked)
            resp.conn.close()
            self.note("forward", resp.status)
            return
        original = resp.read()
        content_type = resp.getheader("Content-Type", "")
        resp.conn.close()
        mode = self.state.opts.mode
        if mode == "schema1":
            body, content_type = schema1_manifest(m.group("name"), m.group("ref")), SCHEMA1
        elif mode == "unknown-mediatype":
            doc = json.loads(original)
            doc["mediaType"] = UNKNOWN
            body, content_type = json.dumps(doc, indent=3).encode(), UNKNOWN
        else:
            body = padded(original, HUGE)
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.send_simple(200, body, content_type, {"Docker-Content-Digest": digest})
        self.note(mode, 200)


def schema1_manifest(name, ref):
    """A Docker image manifest schema 1 (signed; the signature is not valid)."""
    empty = "sha256:" + hashlib.sha256(b"").hexdigest()
    v1 = json.dumps({"id": "0" * 64, "architecture": "amd64", "os": "linux",
                     "config": {"Cmd": ["/bin/sh"]}})
    doc = {
        "schemaVersion": 1,
        "name": name,
        "tag": ref,
        "architecture": "amd64",
        "fsLayers": [{"blobSum": empty}],
        "history": [{"v1Compatibility": v1}],
        "signatures": [{
            "header": {"jwk": {"crv": "P-256", "kid": "BOXT:TEST", "kty": "EC",
                               "x": "AAAA", "y": "AAAA"}, "alg": "ES256"},
            "signature": "AAAA",
            "protected": "eyJmb3JtYXRMZW5ndGgiOjEsImZvcm1hdFRhaWwiOiJmUSJ9"}],
    }
    return json.dumps(doc, indent=3).encode()


def padded(original, size):
    """original (a JSON object) with an annotation making it `size` bytes."""
    doc = json.loads(original)
    doc.setdefault("annotations", {})["box.test.padding"] = ""
    base = len(json.dumps(doc).encode())
    doc["annotations"]["box.test.padding"] = "x" * max(0, size - base)
    return json.dumps(doc).encode()


class CdnHandler(Base):
    """The redirect target: serves blobs by key; refuses Authorization."""
    listener = "cdn"

    def do_GET(self):
        parts = self.path.split("/")
        entry = None
        if len(parts) >= 4 and parts[1] == "blob":
            with self.state.lock:
                entry = self.state.redirects.get(parts[2])
        if entry is None:
            self.send_simple(404, b'{"error":"unknown blob key"}')
            self.note("cdn-unknown", 404)
            return
        if "Authorization" in self.headers:
            self.send_simple(400, b'{"error":"Authorization header sent to the redirect target"}')
            self.note("cdn-reject-authorization", 400)
            return
        path, authorization = entry
        headers = [(k, v) for k, v in self.headers.items() if k.lower() != "host"]
        headers.append(("Host", self.state.opts.upstream))
        if authorization:
            headers.append(("Authorization", authorization))
        resp = self.upstream(path=path, headers=headers, body=False)
        chunked = self.send_head(resp)
        self.copy_body(resp, chunked)
        resp.conn.close()
        self.note("cdn-serve", resp.status)

    do_HEAD = do_GET


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


def serve(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return t


def main():
    p = argparse.ArgumentParser(description="misbehaving registry proxy (see source)")
    p.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    p.add_argument("--mode", required=True, choices=sorted(MODES))
    p.add_argument("--digest", help="only act on this blob (sha256:HEX)")
    p.add_argument("--times", type=int, default=1, help="failures for *-once modes")
    p.add_argument("--rate", type=int, default=1 << 20, help="bytes/s for slow")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--redirect-port-file")
    p.add_argument("--pid-file")
    p.add_argument("--log", default="/dev/null", help="request log")
    p.add_argument("--daemon", metavar="OUTPUT_LOG")
    opts = p.parse_args()

    ready = daemonize(opts.daemon) if opts.daemon else None
    state = State(opts)
    proxy = Proxy((opts.host, opts.port), ProxyHandler)
    proxy.state = state
    state.port = proxy.server_address[1]
    servers = [proxy]
    if opts.mode == "redirect":
        cdn = Proxy((opts.host, 0), CdnHandler)
        cdn.state = state
        state.cdn_port = cdn.server_address[1]
        servers.append(cdn)
        if opts.redirect_port_file:
            write_atomic(opts.redirect_port_file, "%d\n" % state.cdn_port)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    for s in servers:
        serve(s)
    if opts.pid_file:
        write_atomic(opts.pid_file, "%d\n" % os.getpid())
    if opts.port_file:
        write_atomic(opts.port_file, "%d\n" % state.port)
    if ready is not None:
        os.write(ready, b"1")
        os.close(ready)
    while not done.wait(3600):
        pass
    state.stop.set()
    sys.exit(0)


if __name__ == "__main__":
    main()
