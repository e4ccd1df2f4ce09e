#!/usr/bin/env python3
"""Servers and probes for Lango's network-namespace tests; run inside a namespace (ip netns exec).

serve ROLE:PORT ...      start servers, print "ready" once all listen, run until killed. Roles:
                           wan     HTTP 200 "wan-ok"; GET /stream sends data until the client goes
                           portal  HTTP 302 to http://192.168.1.1:PORT/ (what Lango's portal does)
                           admin   HTTP 200 "admin"
                           tcp     accepts and closes (a port that is open)
                           udpecho echoes UDP datagrams
connect HOST PORT DEV... TCP connect from each device (SO_BINDTODEVICE) at once; prints JSON
                         {dev: "ok" | "refused" | "timeout"}
udp HOST PORT            one datagram to an echo server: prints ok | refused | timeout
halfopen HOST PORT N HOLD SRC...
                         from each source address, N connections that send half an HTTP request;
                         after a second prints JSON {"opened", "open"} (how many the server has
                         not closed), then holds them HOLD seconds
"""
import errno
import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = b"x" * 16384


class Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def handler(role, port):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, code, body, headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if role == "portal":
                self.reply(302, b"portal", [("Location", "http://192.168.1.1:%d/" % port)])
            elif role == "admin":
                self.reply(200, b"admin")
            elif self.path == "/stream":
                self.send_response(200)
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(CHUNK)
                except OSError:
                    pass
            else:
                self.reply(200, b"wan-ok")

    return H


def tcp_accept(sock):
    while True:
        c, _ = sock.accept()
        c.close()


def udp_echo(sock):
    while True:
        data, peer = sock.recvfrom(2048)
        sock.sendto(data, peer)


def serve(specs):
    for spec in specs:
        role, port = spec.split(":")
        port = int(port)
        if role == "udpecho":
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", port))
            threading.Thread(target=udp_echo, args=(s,), daemon=True).start()
        elif role == "tcp":
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::", port))
            s.listen(1024)
            threading.Thread(target=tcp_accept, args=(s,), daemon=True).start()
        else:
            srv = Server(("::", port), handler(role, port))
            threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def connect(host, port, devs, timeout=2.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    pending, result = {}, {}
    for dev in devs:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
        s.setblocking(False)
        err = s.connect_ex((host, port))
        if err in (0, errno.EINPROGRESS):
            pending[s] = dev
        else:
            result[dev] = "refused" if err == errno.ECONNREFUSED else errno.errorcode.get(err, str(err))
            s.close()
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        _, ready, _ = select.select([], list(pending), [], max(0.0, deadline - time.monotonic()))
        for s in ready:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            dev = pending.pop(s)
            result[dev] = "ok" if err == 0 else ("refused" if err == errno.ECONNREFUSED else errno.errorcode.get(err, str(err)))
            s.close()
    for s, dev in pending.items():
        result[dev] = "timeout"
        s.close()
    print(json.dumps(result))


def udp(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(1.5)
    s.connect((host, port))
    s.send(b"ping")
    try:
        s.recv(64)
        print("ok")
    except ConnectionRefusedError:
        print("refused")
    except socket.timeout:
        print("timeout")


def halfopen(host, port, n, hold, sources):
    conns = []
    for src in sources:
        for _ in range(n):
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.bind((src, 0))
            try:
                s.connect((host, port))
                s.sendall(b"GET / HTTP/1.1\r\nHost: [%s]\r\nX-Slow: " % host.encode())
                conns.append(s)
            except OSError:
                s.close()
    time.sleep(1)
    still = 0
    for s in conns:
        s.setblocking(False)
        try:
            closed = s.recv(64) == b""
        except BlockingIOError:
            closed = False
        except OSError:
            closed = True
        still += 0 if closed else 1
    print(json.dumps({"opened": len(conns), "open": still}), flush=True)
    time.sleep(hold)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve(args)
    elif cmd == "connect":
        connect(args[0], int(args[1]), args[2:])
    elif cmd == "udp":
        udp(args[0], int(args[1]))
    elif cmd == "halfopen":
        halfopen(args[0], int(args[1]), int(args[2]), float(args[3]), args[4:])
    else:
        sys.exit("unknown command " + cmd)
