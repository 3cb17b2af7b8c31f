#!/usr/bin/env python3
"""capture.py - keep the exact bytes of the request bodies a contender sends.

A small HTTP proxy on 127.0.0.1: every POST body is written as it arrived to
DIR/body1.json, DIR/body2.json, ... and forwarded to TARGET (the mock's base
address, http://127.0.0.1:PORT); the mock's reply goes back whole (status,
Content-Type, body). bench/run points one handoff triage run at it to get
handoff's own bodies for bench_floor --body1/--body2: the mock's request log
keeps bodies parsed, which loses the spelling of numbers ("0.0" -> 0).

    capture.py TARGET DIR       prints "http://127.0.0.1:PORT" on stdout
"""
import http.server
import pathlib
import sys
import urllib.request

FORWARDED = ("content-type", "accept", "authorization", "user-agent")


def main():
    target, out = sys.argv[1], pathlib.Path(sys.argv[2])
    count = 0

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the contenders expect

        def do_POST(self):
            nonlocal count
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            count += 1
            (out / f"body{count}.json").write_bytes(body)
            headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED}
            req = urllib.request.Request(target + self.path, data=body, headers=headers)
            try:
                with urllib.request.urlopen(req) as reply:
                    status, ctype, data = reply.status, reply.headers["content-type"], reply.read()
            except urllib.error.HTTPError as e:
                status, ctype, data = e.code, e.headers["content-type"], e.read()
            self.send_response(status)
            self.send_header("Content-Type", ctype or "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
