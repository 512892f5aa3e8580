#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kubeapi.py: a TEST DOUBLE of the Kubernetes API protocol, for weft's tests only.

It is not a Kubernetes API server: no admission, no validation, no persistence beyond the
process, no field or label selectors, no RBAC. It speaks the parts of the protocol a client
such as weft-node uses, the way kube-apiserver does (Python 3 standard library only):

  * TLS with a server certificate the test makes (openssl), HTTP/1.1, chunked streaming;
  * bearer-token authentication (401 Status on a wrong or missing token), optionally a client
    certificate signed by --client-ca instead of a token; a "forbid" switch answers 403;
  * LIST of any collection (/api/v1/nodes, /api/v1/pods, /api/v1/namespaces,
    /api/v1/namespaces/NS/pods, /apis/GROUP/VERSION/PLURAL ...) with the list's
    metadata.resourceVersion, and limit/continue paging;
  * WATCH (?watch=1&resourceVersion=&allowWatchBookmarks=true&timeoutSeconds=) as chunked JSON
    lines of ADDED / MODIFIED / DELETED / BOOKMARK / ERROR events; a resourceVersion older than
    the compaction point is "410 Gone": by default an ERROR event holding a Status with code 410
    (what kube-apiserver sends for a watch), with gone_mode "http" an HTTP 410 Status instead;
  * a GET of one object (.../PLURAL/NAME).

Objects are stored per collection, keyed by (namespace, name), whatever their kind: whatever a
test posts under a collection path is served back from it, with metadata.resourceVersion, uid
and creationTimestamp filled in.

Control interface for tests: a plain HTTP endpoint (--admin ADDR:PORT, loopback only):
  POST   /objects/<collection path>           body: one object, or {"items": [...]}: create or
                                               replace (ADDED / MODIFIED events); the list form
                                               is the bulk load (5000 Nodes in one call, ~50 ms:
                                               the bench's cluster part, netlab run cluster);
                                               replies {"resourceVersion": "N"}, the version
                                               the change reached
  DELETE /objects/<collection path>/<name>     (namespaced: .../namespaces/NS/PLURAL/NAME);
                                               replies {"deleted": true, "resourceVersion":
                                               "N"} (N of the DELETED event), 404 when absent
  POST   /raw?path=<collection path>           body: one raw line sent to that collection's
                                               open watches as it is (malformed events)
  POST   /compact                              every version so far expires (410 on resume)
  POST   /drop                                 close every open watch mid-stream (no final chunk)
  POST   /restart?down_ms=N                    stop serving (listener and every connection),
                                               come back after N ms on the same port, store kept
  POST   /config                               JSON: token, delay_ms (before every answer),
                                               fail_next (answer the next N requests with 500),
                                               forbid (403), bookmark_ms, gone_mode
  GET    /stats                                JSON counters: lists, watches, open_watches, ...
  GET    /objects/<collection path>            the stored objects (no auth)

Usage: kubeapi.py --cert C --key K --token T --listen 127.0.0.1:0 --admin 127.0.0.1:0
       [--client-ca CA] [--ports-file F]
The chosen ports are written to --ports-file as "api=PORT admin=PORT" once both listen.
"""

import argparse
import base64
import http.server
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

LOG_MAX = 200000  # events kept for watch resumption; older ones are compacted away


def kind_of(plural):
    known = {"nodes": "Node", "pods": "Pod", "namespaces": "Namespace",
             "networkpolicies": "NetworkPolicy", "services": "Service",
             "endpoints": "Endpoints"}
    if plural in known:
        return known[plural]
    return plural[:1].upper() + plural[1:].rstrip("s")


def split_path(path):
    """A request path -> (collection, namespace, name) or None.
    collection is the group/version prefix + plural, e.g. "/api/v1/pods"; a namespaced
    request .../namespaces/NS/pods gives ("/api/v1/pods", "NS", None)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        prefix, rest = parts[:2], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        prefix, rest = parts[:3], parts[3:]
    else:
        return None
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if len(rest) not in (1, 2):
        return None
    coll = "/" + "/".join(prefix + [rest[0]])
    return coll, ns, rest[1] if len(rest) == 2 else None


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Store:
    """Collections of objects, one global resourceVersion, an event log for watches."""

    def __init__(self):
        self.cond = threading.Condition()
        self.rv = 1
        self.compacted = 0  # watches from a version below this are 410
        self.colls = {}  # collection -> {(ns, name): obj}
        self.log = []  # (rv, collection, type, obj or raw line)
        self.generation = 0  # bumped by /drop: open watches end

    def _event(self, coll, etype, obj):
        self.log.append((self.rv, coll, etype, obj))
        if len(self.log) > LOG_MAX:
            drop = len(self.log) - LOG_MAX
            self.compacted = self.log[drop][0]
            del self.log[:drop]

    def put(self, coll, obj):
        with self.cond:
            meta = obj.setdefault("metadata", {})
            key = (meta.get("namespace"), meta.get("name"))
            objs = self.colls.setdefault(coll, {})
            old = objs.get(key)
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
            meta.setdefault("creationTimestamp",
                            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            obj.setdefault("kind", kind_of(coll.rsplit("/", 1)[1]))
            obj.setdefault("apiVersion", "/".join(coll.split("/")[2:-1]))
            objs[key] = obj
            self._event(coll, "MODIFIED" if old else "ADDED", obj)
            self.cond.notify_all()

    def delete(self, coll, ns, name):
        """The resourceVersion of the DELETED event, 0 when there was no such object."""
        with self.cond:
            obj = self.colls.get(coll, {}).pop((ns, name), None)
            if obj is None:
                return 0
            self.rv += 1
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._event(coll, "DELETED", obj)
            self.cond.notify_all()
            return self.rv

    def raw(self, coll, line):
        with self.cond:
            self.log.append((self.rv, coll, "RAW", line))
            self.cond.notify_all()

    def compact(self):
        with self.cond:
            self.rv += 1
            self.compacted = self.rv
            self.log.clear()
            self.cond.notify_all()

    def drop(self):
        with self.cond:
            self.generation += 1
            self.cond.notify_all()

    def items(self, coll, ns):
        objs = self.colls.get(coll, {})
        return [objs[k] for k in sorted(objs, key=lambda k: (k[0] or "", k[1] or ""))
                if ns is None or k[0] == ns]


class Api:
    """The configuration and counters shared by the API and admin handlers."""

    def __init__(self, args):
        self.store = Store()
        self.token = args.token
        self.delay_ms = 0
        self.fail_next = 0
        self.forbid = False
        self.bookmark_ms = 1000
        self.gone_mode = "event"
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "lists": 0, "watches": 0, "open_watches": 0,
                      "unauthorized": 0, "gone": 0}
        self.server = None
        self.args = args
        self.port = 0
        self.conns = set()

    def count(self, key, d=1):
        with self.lock:
            self.stats[key] += d


class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None  # set on the class made per server

    def log_message(self, fmt, *a):
        if self.api.args.verbose:
            sys.stderr.write("kubeapi: " + fmt % a + "\n")

    def send_json(self, code, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        api = self.api
        try:
            if self.connection.getpeercert():
                return True  # verified against --client-ca by the TLS layer
        except (AttributeError, ValueError):
            pass
        return self.headers.get("Authorization", "") == "Bearer " + api.token

    def gate(self):
        """Delay, injected failures, authentication. True when the request may go on."""
        api = self.api
        api.count("requests")
        if api.args.request_log:  # what the client asked, for the RBAC check of the manifest
            with api.lock, open(api.args.request_log, "a") as f:
                f.write("%s %s\n" % (self.command, self.path))
        if api.delay_ms:
            time.sleep(api.delay_ms / 1000.0)
        with api.lock:
            fail = api.fail_next > 0
            api.fail_next -= 1 if fail else 0
        if fail:
            self.send_json(500, status(500, "InternalError", "injected failure"))
            return False
        if not self.authorized():
            api.count("unauthorized")
            self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
            return False
        if api.forbid:
            self.send_json(403, status(403, "Forbidden", "forbidden by the test"))
            return False
        return True

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        where = split_path(url.path)
        if not self.gate():
            return
        if where is None:
            self.send_json(404, status(404, "NotFound", "no such path " + url.path))
            return
        coll, ns, name = where
        if name is not None:
            obj = self.api.store.colls.get(coll, {}).get((ns, name))
            if obj is None:
                self.send_json(404, status(404, "NotFound", name + " not found"))
            else:
                self.send_json(200, obj)
        elif q.get("watch") in ("1", "true"):
            self.watch(coll, ns, q)
        else:
            self.list(coll, ns, q)

    def list(self, coll, ns, q):
        st = self.api.store
        self.api.count("lists")
        limit = int(q.get("limit", "0") or 0)
        with st.cond:
            items = st.items(coll, ns)
            rv = st.rv
            compacted = st.compacted
        start = 0
        if q.get("continue"):
            try:
                crv, start = base64.urlsafe_b64decode(q["continue"]).decode().split(":")
                crv, start = int(crv), int(start)
            except ValueError:
                self.send_json(400, status(400, "BadRequest", "invalid continue token"))
                return
            if crv < compacted:
                self.api.count("gone")
                self.send_json(410, status(410, "Expired",
                                           "The provided continue parameter is too old"))
                return
            rv = crv  # a consistent snapshot is not kept: pages come from the live store
        meta = {"resourceVersion": str(rv)}
        if limit and start + limit < len(items):
            tok = "%d:%d" % (rv, start + limit)
            meta["continue"] = base64.urlsafe_b64encode(tok.encode()).decode()
            meta["remainingItemCount"] = len(items) - start - limit
            items = items[start:start + limit]
        else:
            items = items[start:]
        kind = kind_of(coll.rsplit("/", 1)[1]) + "List"
        self.send_json(200, {"kind": kind, "apiVersion": "/".join(coll.split("/")[2:-1]),
                             "metadata": meta, "items": items})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, etype, obj):
        self.chunk(json.dumps({"type": etype, "object": obj},
                              separators=(",", ":")).encode() + b"\n")

    def watch(self, coll, ns, q):
        api, st = self.api, self.api.store
        rv_s = q.get("resourceVersion", "")
        try:
            since = int(rv_s) if rv_s not in ("", "0") else None
        except ValueError:
            self.send_json(400, status(400, "BadRequest", "invalid resourceVersion"))
            return
        with st.cond:
            gone = since is not None and since < st.compacted
        if gone and api.gone_mode == "http":
            api.count("gone")
            self.send_json(410, status(410, "Expired", "too old resource version: %d (%d)"
                                       % (since, st.compacted)))
            return
        api.count("watches")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if gone:
            api.count("gone")
            self.event("ERROR", status(410, "Expired", "too old resource version: %d (%d)"
                                       % (since, st.compacted)))
            self.chunk(b"")
            return
        api.count("open_watches")
        try:
            self.stream(coll, ns, q, since)
        except (OSError, ssl.SSLError):
            pass
        finally:
            api.count("open_watches", -1)

    def stream(self, coll, ns, q, since):
        api, st = self.api, self.api.store
        deadline = None
        if q.get("timeoutSeconds"):
            deadline = time.monotonic() + float(q["timeoutSeconds"])
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        with st.cond:
            gen = st.generation
            if since is None:  # "" or "0": the current state as ADDED, then changes
                pending = [("ADDED", o) for o in st.items(coll, ns)]
                pos = len(st.log)
            else:
                pending = []
                pos = next((i for i, e in enumerate(st.log) if e[0] > since), len(st.log))
        for etype, obj in pending:
            self.event(etype, obj)
        next_bm = time.monotonic() + api.bookmark_ms / 1000.0
        while True:
            with st.cond:
                while (pos >= len(st.log) and gen == st.generation and
                       (deadline is None or time.monotonic() < deadline) and
                       not (bookmarks and time.monotonic() >= next_bm)):
                    wait = next_bm - time.monotonic() if bookmarks else 1.0
                    if deadline is not None:
                        wait = min(wait, deadline - time.monotonic())
                    st.cond.wait(max(0.0, min(wait, 1.0)))
                if gen != st.generation:
                    self.abort()
                    return
                if pos > len(st.log):  # compacted under us
                    pos = len(st.log)
                batch = st.log[pos:]
                pos = len(st.log)
                rv = st.rv
            for erv, ecoll, etype, obj in batch:
                if ecoll != coll:
                    continue
                if etype == "RAW":
                    self.chunk(obj.encode() + b"\n")
                elif ns is None or obj["metadata"].get("namespace") == ns:
                    self.event(etype, obj)
            if deadline is not None and time.monotonic() >= deadline:
                self.chunk(b"")
                return
            if bookmarks and time.monotonic() >= next_bm:
                self.event("BOOKMARK", {"kind": kind_of(coll.rsplit("/", 1)[1]),
                                        "apiVersion": "/".join(coll.split("/")[2:-1]),
                                        "metadata": {"resourceVersion": str(rv)}})
                next_bm = time.monotonic() + api.bookmark_ms / 1000.0

    def abort(self):
        """Closes the connection mid-stream: no final chunk, as a dying server or proxy."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True


class TlsServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many agents connecting at once (netlab run cluster --nodes 32)

    def __init__(self, addr, handler, ctx, api):
        self.ctx = ctx
        self.api = api
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        try:
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        except (OSError, ssl.SSLError):
            sock.close()
            raise
        with self.api.lock:
            self.api.conns.add(sock)
        return sock, addr

    def process_request_thread(self, request, client_address):
        # the TLS handshake in the connection's own thread: a slow or silent client never
        # holds up the accept loop (many agents connect at once in netlab run cluster)
        try:
            request.settimeout(30)
            request.do_handshake()
            request.settimeout(None)
        except (OSError, ssl.SSLError, ValueError):
            self.shutdown_request(request)
            return
        super().process_request_thread(request, client_address)

    def shutdown_request(self, request):
        with self.api.lock:
            self.api.conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        pass  # a client that went away mid-answer is normal here


def make_ctx(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    if args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def serve_api(api, port):
    handler = type("H", (ApiHandler,), {"api": api})
    host = api.args.listen.rsplit(":", 1)[0].strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv_cls = type("S", (TlsServer,), {"address_family": fam})
    srv = srv_cls((host, port), handler, make_ctx(api.args), api)
    api.server = srv
    api.port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def restart(api, down_ms):
    srv = api.server
    srv.shutdown()
    srv.server_close()
    with api.lock:
        conns = list(api.conns)
        api.conns.clear()
    for c in conns:
        try:
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    api.store.drop()
    time.sleep(down_ms / 1000.0)
    serve_api(api, api.port)


class AdminHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None

    def log_message(self, fmt, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/stats":
            with self.api.lock:
                self.reply(200, dict(self.api.stats, rv=self.api.store.rv))
            return
        where = split_path(url.path[len("/objects"):]) if url.path.startswith("/objects/") \
            else None
        if where is None:
            self.reply(404, {"error": "no such admin path"})
            return
        with self.api.store.cond:
            self.reply(200, {"items": self.api.store.items(where[0], where[1])})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        api, st = self.api, self.api.store
        data = self.body()
        if url.path.startswith("/objects/"):
            where = split_path(url.path[len("/objects"):])
            if where is None or where[2] is not None:
                self.reply(400, {"error": "not a collection path"})
                return
            obj = json.loads(data)
            for o in obj["items"] if "items" in obj else [obj]:
                if where[1] is not None:
                    o.setdefault("metadata", {})["namespace"] = where[1]
                st.put(where[0], o)
            self.reply(200, {"resourceVersion": str(st.rv)})
        elif url.path == "/raw":
            st.raw(split_path(q["path"])[0], data.decode())
            self.reply(200, {})
        elif url.path == "/compact":
            st.compact()
            self.reply(200, {"compacted": st.compacted})
        elif url.path == "/drop":
            st.drop()
            self.reply(200, {})
        elif url.path == "/restart":
            restart(api, int(q.get("down_ms", "0")))
            self.reply(200, {"port": api.port})
        elif url.path == "/config":
            cfg = json.loads(data or b"{}")
            for k in ("token", "delay_ms", "fail_next", "forbid", "bookmark_ms", "gone_mode"):
                if k in cfg:
                    setattr(api, k, cfg[k])
            self.reply(200, {})
        else:
            self.reply(404, {"error": "no such admin path"})

    def do_DELETE(self):
        url = urllib.parse.urlsplit(self.path)
        where = split_path(url.path[len("/objects"):]) if url.path.startswith("/objects/") \
            else None
        if where is None or where[2] is None:
            self.reply(400, {"error": "not an object path"})
            return
        rv = self.api.store.delete(where[0], where[1], where[2])
        self.reply(200 if rv else 404, {"deleted": bool(rv), "resourceVersion": str(rv)})


class AdminServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description="a test double of the Kubernetes API protocol")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--admin", default="127.0.0.1:0")
    ap.add_argument("--ports-file")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--request-log", help="append 'METHOD PATH' of every API request here")
    args = ap.parse_args()
    api = Api(args)
    serve_api(api, int(args.listen.rsplit(":", 1)[1]))
    ahost, aport = args.admin.rsplit(":", 1)
    adm = AdminServer((ahost, int(aport)), type("A", (AdminHandler,), {"api": api}))
    line = "api=%d admin=%d\n" % (api.port, adm.server_address[1])
    if args.ports_file:
        with open(args.ports_file + ".tmp", "w") as f:
            f.write(line)
        import os
        os.rename(args.ports_file + ".tmp", args.ports_file)
    sys.stdout.write(line)
    sys.stdout.flush()
    try:
        adm.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
