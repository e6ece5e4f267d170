"""Load client for `t2 serve` (tests/test_serve_load.sh): CLIENTS threads for SECONDS, each
sending in turn valid streamed and whole requests and the bad ones of test_serve_http.sh
(malformed JSON, a wrong content type, a 10 MB body, an unknown model, max_tokens 0, a
prompt longer than the context, invalid UTF-8, empty messages, a client leaving mid-stream,
a slow client). Every valid request must answer 200 with a whole answer or stream; every bad
one its 4xx (or, for the 10 MB body, a connection closed while sending). Prints the latency
percentiles and tokens/s of the valid requests; exits 1 on any unexpected answer.
Standard library only. usage: serve_load.py PORT SECONDS CLIENTS"""
import http.client
import json
import socket
import sys
import threading
import time

port, seconds, n_clients = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
big = b'{"model":"base","prompt":"' + b"x" * (10 << 20) + b'"}'
lock = threading.Lock()
latencies, tokens, failures, counts = [], [0], [], {}
deadline = time.time() + seconds


def note(kind, ok, why=""):
    with lock:
        counts[kind] = counts.get(kind, 0) + 1
        if not ok:
            failures.append("%s: %s" % (kind, why))


def post(path, body, ctype="application/json"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", path, body, {"Content-Type": ctype})
    return c, c.getresponse()


def valid_stream(i):
    model = ("base", "math", "code", "auto")[i % 4]
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Question %d: what is %d + %d?" % (i, i, i % 7)}],
                       "max_tokens": 8 + i % 56, "temperature": 0.7, "seed": i, "stream": True,
                       "stream_options": {"include_usage": True}})
    start = time.time()
    c, r = post("/v1/chat/completions", body)
    raw = r.read().decode("utf-8")
    c.close()
    if r.status != 200 or not raw.endswith("data: [DONE]\n\n"):
        return note("valid stream", False, "%d %r" % (r.status, raw[-300:]))
    events = [json.loads(b[6:]) for b in raw.split("\n\n")[:-2]]
    finish = [ch["finish_reason"] for e in events for ch in e["choices"] if ch["finish_reason"]]
    if finish not in (["stop"], ["length"]) or "usage" not in events[-1]:
        return note("valid stream", False, "finish %r, last %r" % (finish, events[-1]))
    with lock:
        latencies.append(time.time() - start)
        tokens[0] += events[-1]["usage"]["completion_tokens"]
    note("valid stream", True)


def valid_whole(i):
    body = json.dumps({"model": ("auto", "math", "base")[i % 3], "prompt": "Question: %d?\nAnswer:" % i,
                       "max_tokens": 4 + i % 40, "temperature": 0})
    start = time.time()
    c, r = post("/v1/completions", body)
    d = json.loads(r.read())
    c.close()
    if r.status != 200 or d["object"] != "text_completion":
        return note("valid whole", False, "%d %r" % (r.status, d))
    with lock:
        latencies.append(time.time() - start)
        tokens[0] += d["usage"]["completion_tokens"]
    note("valid whole", True)


def bad(kind, path, body, status, ctype="application/json"):
    try:
        c, r = post(path, body, ctype)
        d = json.loads(r.read())
        c.close()
        note(kind, r.status == status and "error" in d, "%d %r" % (r.status, d))
    except (BrokenPipeError, ConnectionResetError) as e:
        note(kind, kind == "10 MB body", repr(e))  # the server stopped reading


def leave_mid_stream(i):
    c, r = post("/v1/completions", json.dumps({"model": "base", "prompt": "Once", "max_tokens": 400, "stream": True}))
    ok = r.status == 200 and r.readline().startswith(b"data: ")
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    note("leaves mid-stream", ok, str(r.status))


def slow(i):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(60)
    try:
        closed = s.recv(100) == b""  # the server gives up on the request (--timeout)
    except ConnectionResetError:
        closed = True
    s.close()
    note("slow client", closed, "not closed")


cases = [valid_stream, valid_whole, valid_stream, valid_whole,
         lambda i: bad("malformed JSON", "/v1/completions", '{"model": "base", "prompt": ', 400),
         valid_stream,
         lambda i: bad("content type", "/v1/completions", '{"model":"base","prompt":"x"}', 415, "text/plain"),
         lambda i: bad("unknown model", "/v1/chat/completions", '{"model":"nobody","messages":[{"role":"user","content":"x"}]}', 404),
         valid_stream,
         lambda i: bad("max_tokens 0", "/v1/completions", '{"model":"base","prompt":"x","max_tokens":0}', 400),
         lambda i: bad("long prompt", "/v1/completions", json.dumps({"model": "base", "prompt": "x" * 3000}), 400),
         valid_whole,
         lambda i: bad("invalid UTF-8", "/v1/completions", b'{"model":"base","prompt":"caf\xe9"}', 400),
         lambda i: bad("empty messages", "/v1/chat/completions", '{"model":"base","messages":[]}', 400),
         leave_mid_stream, valid_stream]


def client(k):
    i = k
    while time.time() < deadline:
        try:
            if i % 97 == 13:
                slow(i)
            elif i % 41 == 7:
                bad("10 MB body", "/v1/completions", big, 413)
            else:
                cases[i % len(cases)](i)
        except Exception as e:  # a refused or dropped connection, a malformed answer
            note("exception", False, repr(e))
        i += n_clients


start = time.time()
threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.time() - start
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")
print("load: %d clients, %.1f s: %d valid requests, p50 %.3f s, p99 %.3f s, %d tokens, %.0f tokens/s"
      % (n_clients, elapsed, len(latencies), pct(0.50), pct(0.99), tokens[0], tokens[0] / elapsed))
print("load: requests by kind: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
for f in failures[:20]:
    print("load: FAIL " + f)
sys.exit(1 if failures or not latencies else 0)
