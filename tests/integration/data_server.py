#!/usr/bin/env python3
"""Local HTTP server for the `nnlab data` tests (127.0.0.1 only, never the internet).

Usage: data_server.py ROOT PORTFILE LOGFILE

Serves the files under ROOT. The first path component picks a behaviour, the
rest is the file's path under ROOT:
  /good/PATH        the file, with Range support (206 / 416)
  /404/PATH         always 404
  /bad/PATH         the file with one byte flipped in the middle (a wrong hash)
  /cut/PATH         first request per file: announces the full length and
                    Accept-Ranges, sends half, closes the connection; later
                    requests behave as /good/
  /cutnorange/PATH  like /cut/, but no Accept-Ranges, and later requests ignore
                    Range (200, whole file)
  /endless/PATH     the file, then zeros without end (no Content-Length): stops
                    at ENDLESS_CAP bytes or when the client hangs up
  /flaky/PATH       first request per file: 503; later requests as /good/
  /hang/PATH        accepts the connection and never answers
Each request is appended to LOGFILE as "METHOD PATH range=VALUE".
The chosen port is written to PORTFILE once the server listens.
"""
import http.server
import os
import sys
import threading
import time

ROOT, PORTFILE, LOGFILE = sys.argv[1], sys.argv[2], sys.argv[3]
ENDLESS_CAP = 256 << 20  # bounded: a client that never stops still gets an end
FIRST = set()
LOCK = threading.Lock()


def first_time(key):
    with LOCK:
        if key in FIRST:
            return False
        FIRST.add(key)
        return True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self):
        with LOCK, open(LOGFILE, "a") as f:
            f.write("%s %s range=%s\n" % (self.command, self.path, self.headers.get("Range")))

    def fail(self, code):
        body = b"nope\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.record()
        parts = self.path.lstrip("/").split("/", 1)
        mode, rel = parts[0], parts[1] if len(parts) > 1 else ""
        if mode == "hang":
            time.sleep(120)
            self.close_connection = True
            return
        if mode == "404":
            return self.fail(404)
        if mode == "flaky" and first_time(("flaky", rel)):
            return self.fail(503)
        path = os.path.realpath(os.path.join(ROOT, rel))
        if not path.startswith(os.path.realpath(ROOT) + os.sep) or not os.path.isfile(path):
            return self.fail(404)
        with open(path, "rb") as f:
            data = f.read()
        if mode == "bad":
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        start = 0
        rng = self.headers.get("Range")
        honour_range = mode != "cutnorange"
        if rng and honour_range and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        if mode == "endless":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            sent, zeros = 0, bytes(1 << 16)
            try:
                self.wfile.write(data)
                sent = len(data)
                while sent < ENDLESS_CAP:
                    self.wfile.write(zeros)
                    sent += len(zeros)
            except OSError:
                pass
            with LOCK, open(LOGFILE, "a") as f:
                f.write("SENT %s bytes=%d\n" % (self.path, sent))
            return
        if mode in ("cut", "cutnorange") and first_time(("cut", mode, rel)):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            if mode == "cut":
                self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        body = data[start:]
        if start:
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up early are part of the tests


srv = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
