#!/bin/sh
# t2 serve (cmd/serve*.c, docs/serve.md) with curl and small /usr/bin/python3 socket clients
# against `t2 serve --port 0` on the shipped default model.
#   fixtures  the inputs, into DIR: the model's store, three one-step experts (math, code and
#             the cls classifier) and a bundle of math and code with the classifier;
#   api       one server with the bundle: /health, /v1/models, chat and completions whole
#             and streamed (the streamed text is the whole answer's, greedy), usage (the
#             same prompt again keeps all but its last token from its slot), stop,
#             seed, max_tokens, metrics; then each bad input gets its OpenAI error and status
#             and the server keeps serving;
#   clients   a client that leaves mid-stream (its request is cancelled and its slot freed),
#             one that sends a byte a second (closed after --timeout), a full queue (503 with
#             Retry-After), and SIGTERM / SIGINT while a stream runs (exit 0);
#   cli       bad command lines (and composed experts past the memory available): one error
#             line, exit 2 (usage) or 1.
# usage: test_serve_http.sh MODE T2_EXE SOURCE_DIR DIR [MPIEXEC]
set -eu
mode=$1; t2=$2; src=$3; dir=$4; mpiexec=${5:-mpiexec}
py=/usr/bin/python3
model=$src/assets/default-model
fail() { echo "FAIL: $*"; [ -f "$dir/server.err" ] && tail -20 "$dir/server.err"; stop_quietly; exit 1; }
pid=""
stop_quietly() { [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true; pid=""; }

fixtures() {
    rm -rf "$dir"
    mkdir -p "$dir"
    quick="--steps 1 --batch 4 --chunk 2 --val-samples 4 --max-new-tokens 16"
    "$t2" decompose --model "$model" --out "$dir/S" 2>/dev/null || fail "decompose"
    for task in math code cls; do
        "$t2" train --model "$model" --store "$dir/S" --task $task --out "$dir/$task.expert" \
            $quick 2>/dev/null || fail "train $task"
    done
    "$t2" bundle create --out "$dir/b.t2b" "$dir/math.expert" "$dir/code.expert" \
        --classifier "$dir/cls.expert" || fail "bundle"
    echo "fixtures written to $dir"
}

# start ARGS...: t2 serve on a free port in the background; sets pid and url.
start() {
    : >"$dir/server.err"
    "$t2" serve --model "$model" --port 0 --threads 1 "$@" 2>"$dir/server.err" &
    pid=$!
    i=0
    until grep -q '^t2 serve: listening on ' "$dir/server.err"; do
        kill -0 "$pid" 2>/dev/null || { pid=""; fail "t2 serve $* exited before listening"; }
        i=$((i + 1))
        [ $i -lt 1200 ] || fail "t2 serve $* did not print its listening line in 120 s"
        sleep 0.1
    done
    url=$(sed -n 's/^t2 serve: listening on \(http:[^ ]*\)$/\1/p' "$dir/server.err")
    case $url in http://127.0.0.1:[1-9]*) ;; *) fail "listening line: '$url'" ;; esac
}

# stop [SIGNAL]: signals the server by its PID and checks it exits 0.
stop() {
    kill -"${1:-TERM}" "$pid"
    set +e
    wait "$pid"
    rc=$?
    set -e
    pid=""
    [ $rc -eq 0 ] || fail "t2 serve exited $rc after SIG${1:-TERM}"
    grep -q '^t2 serve: stopped$' "$dir/server.err" || fail "no 'stopped' line"
    ! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$dir/server.err" ||
        fail "sanitizer report"
}

# req STATUS METHOD PATH [BODY-FILE] [CURL-ARGS...]: the response in $dir/body, headers in
# $dir/head; the status must be STATUS. A body is sent with Content-Type $ctype.
ctype=application/json
req() {
    want=$1; method=$2; path=$3; shift 3
    data=""
    if [ $# -gt 0 ]; then data=$1; shift; fi
    if [ -n "$data" ]; then
        got=$(curl -s -S -o "$dir/body" -D "$dir/head" -w '%{http_code}' -X "$method" \
            -H "Content-Type: $ctype" --data-binary "@$data" "$@" "$url$path") ||
            fail "curl $method $path"
    else
        got=$(curl -s -S -o "$dir/body" -D "$dir/head" -w '%{http_code}' -X "$method" "$@" \
            "$url$path") || fail "curl $method $path"
    fi
    [ "$got" = "$want" ] || fail "$method $path: status $got, expected $want: $(head -c 400 "$dir/body")"
}

# body JSON: the request body file $dir/req.json.
body() { printf '%s' "$1" >"$dir/req.json"; }

# check PYTHON-EXPR: evaluated with d = the JSON of $dir/body (and head = its headers).
check() {
    $py - "$dir/body" "$dir/head" "$1" <<'EOF' || fail "check: $1 on $(head -c 600 "$dir/body")"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
head = open(sys.argv[2]).read().lower()
sys.exit(0 if eval(sys.argv[3]) else 1)
EOF
}

# events: the streamed body $dir/body as JSON lines in $dir/events (the [DONE] line last as
# "DONE"); fails on a malformed stream.
events() {
    $py - "$dir/body" "$dir/events" <<'EOF' || fail "malformed event stream: $(head -c 600 "$dir/body")"
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
assert raw.endswith("data: [DONE]\n\n"), "does not end with [DONE]"
out = []
for block in raw.split("\n\n")[:-1]:
    assert block.startswith("data: "), block
    out.append("DONE" if block == "data: [DONE]" else json.dumps(json.loads(block[6:])))
assert out.count("DONE") == 1 and out[-1] == "DONE"
open(sys.argv[2], "w").write("\n".join(out) + "\n")
EOF
}

# bad STATUS CODE PARAM METHOD PATH [BODY-FILE] [CURL-ARGS...]: an OpenAI error object.
bad() {
    status=$1; code=$2; param=$3; shift 3
    req "$status" "$@"
    check "set(d) == {'error'} and d['error']['code'] == '$code' and d['error']['type'] in ('invalid_request_error', 'server_error') and isinstance(d['error']['message'], str) and d['error']['param'] == (None if '$param' == '-' else '$param')"
}

api() {
    start --store "$dir/S" --bundle "$dir/b.t2b" --timeout 5
    req 200 GET /health
    check "d == {'status': 'ok'}"
    req 200 GET /v1/models
    check "d['object'] == 'list' and [m['id'] for m in d['data']] == ['base', 'math', 'code', 'auto'] and all(m['object'] == 'model' for m in d['data'])"

    # Whole answers on each adaptation; usage adds up; the adaptation is named.
    for m in base math auto; do
        body '{"model":"'$m'","messages":[{"role":"user","content":"What is 2 + 3?"}],"max_tokens":12,"temperature":0}'
        req 200 POST /v1/chat/completions "$dir/req.json"
        check "d['object'] == 'chat.completion' and d['choices'][0]['message']['role'] == 'assistant' and isinstance(d['choices'][0]['message']['content'], str) and d['choices'][0]['finish_reason'] in ('stop', 'length') and 1 <= d['usage']['completion_tokens'] <= 12 and d['usage']['total_tokens'] == d['usage']['prompt_tokens'] + d['usage']['completion_tokens'] and d['usage']['prompt_tokens'] > 0 and 0 <= d['usage']['prompt_tokens_details']['cached_tokens'] < d['usage']['prompt_tokens']"
        case $m in
        auto) check "d['t2_adaptation'].startswith('auto:') and d['t2_adaptation'][5:] in ('base', 'math', 'code') and d['usage']['t2_route_tokens'] > 0 and d['model'] == d['t2_adaptation']" ;;
        *) check "d['t2_adaptation'] == '$m' and d['model'] == '$m'" ;;
        esac
    done

    # A stream says what the whole answer says, chunk by chunk (greedy: the same text); it
    # sends the whole answer's prompt again, so its slot keeps all of it but the last token.
    body '{"model":"math","prompt":"Question: What is 4 + 4?\nAnswer:","max_tokens":24,"temperature":0}'
    req 200 POST /v1/completions "$dir/req.json"
    check "d['object'] == 'text_completion' and d['choices'][0]['finish_reason'] in ('stop', 'length')"
    $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["choices"][0]["text"], end="")' \
        "$dir/body" >"$dir/whole.txt"
    body '{"model":"math","prompt":"Question: What is 4 + 4?\nAnswer:","max_tokens":24,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}'
    req 200 POST /v1/completions "$dir/req.json" -N
    grep -qi '^content-type: text/event-stream' "$dir/head" || fail "stream content type"
    events
    $py - "$dir/events" "$dir/whole.txt" <<'EOF' || fail "completion stream differs from the whole answer"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip() != "DONE"]
text = "".join(c["choices"][0]["text"] for c in ev if c["choices"])
assert all(e["object"] == "text_completion" for e in ev)
assert ev[-1]["choices"] == [] and ev[-1]["usage"]["completion_tokens"] >= 1, ev[-1]
u = ev[-1]["usage"]
assert u["prompt_tokens_details"]["cached_tokens"] == u["prompt_tokens"] - 1, u
assert ev[-2]["choices"][0]["finish_reason"] in ("stop", "length") and ev[-2]["t2_adaptation"] == "math"
assert all(c["choices"][0]["finish_reason"] is None for c in ev[:-2])
assert text == open(sys.argv[2], encoding="utf-8").read(), (text,)
EOF
    body '{"model":"base","messages":[{"role":"user","content":"Hello"}],"max_tokens":16,"temperature":0}'
    req 200 POST /v1/chat/completions "$dir/req.json"
    $py -c 'import json,sys; print(json.load(open(sys.argv[1]))["choices"][0]["message"]["content"], end="")' \
        "$dir/body" >"$dir/whole.txt"
    body '{"model":"base","messages":[{"role":"user","content":"Hello"}],"max_tokens":16,"temperature":0,"stream":true}'
    req 200 POST /v1/chat/completions "$dir/req.json" -N
    events
    $py - "$dir/events" "$dir/whole.txt" <<'EOF' || fail "chat stream differs from the whole answer"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip() != "DONE"]
assert all(e["object"] == "chat.completion.chunk" and len({e["id"] for e in ev}) == 1 for e in ev)
assert ev[0]["choices"][0]["delta"].get("role") == "assistant"
assert ev[-1]["choices"][0]["finish_reason"] in ("stop", "length") and ev[-1]["t2_adaptation"] == "base"
text = "".join(c["choices"][0]["delta"].get("content", "") for c in ev)
assert text == open(sys.argv[2], encoding="utf-8").read(), (text,)
EOF

    # stop: the answer ends before the first occurrence of a piece of the unstopped answer.
    body '{"model":"math","prompt":"Question: What is 7 + 1?\nAnswer:","max_tokens":32,"temperature":0}'
    req 200 POST /v1/completions "$dir/req.json"
    $py - "$dir/body" "$dir/req.json" <<'EOF' || fail "cannot make a stop request"
import json, sys
text = json.load(open(sys.argv[1]))["choices"][0]["text"]
assert len(text) >= 8, text
stop = text[4:7]
json.dump({"model": "math", "prompt": "Question: What is 7 + 1?\nAnswer:", "max_tokens": 32,
           "temperature": 0, "stop": ["\u00e9never", stop]}, open(sys.argv[2], "w"))
open(sys.argv[2] + ".want", "w", encoding="utf-8").write(text[:text.find(stop)])
EOF
    req 200 POST /v1/completions "$dir/req.json"
    check "d['choices'][0]['text'] == open('$dir/req.json.want', encoding='utf-8').read() and d['choices'][0]['finish_reason'] == 'stop'"

    # seed: the same seed samples the same answer; max_tokens bounds it.
    body '{"model":"code","prompt":"def f(x):","max_tokens":20,"temperature":1.0,"top_p":0.9,"seed":7}'
    req 200 POST /v1/completions "$dir/req.json"
    cp "$dir/body" "$dir/seed1.json"
    req 200 POST /v1/completions "$dir/req.json"
    check "d['choices'][0]['text'] == json.load(open('$dir/seed1.json'))['choices'][0]['text'] and d['usage']['completion_tokens'] <= 20"
    body '{"model":"base","prompt":"a","max_tokens":1}'
    req 200 POST /v1/completions "$dir/req.json"
    check "d['usage']['completion_tokens'] == 1 or d['choices'][0]['finish_reason'] == 'stop'"

    # Bad input: each answered with its error; the server keeps serving.
    body '{"model": "base", "prompt": '
    bad 400 invalid_json - POST /v1/completions "$dir/req.json"
    body '[1, 2]'
    bad 400 invalid_json - POST /v1/completions "$dir/req.json"
    body '{"model":"base","prompt":"x"}'
    ctype=text/plain
    bad 415 unsupported_media_type - POST /v1/completions "$dir/req.json"
    ctype=application/jsonx
    bad 415 unsupported_media_type - POST /v1/completions "$dir/req.json"
    ctype=application/json
    head -c 10485760 /dev/zero | tr '\0' ' ' >"$dir/big.json"
    bad 413 request_too_large - POST /v1/completions "$dir/big.json"
    # without a length (chunked): 413, or the connection closed once 1 MB was read
    got=$(curl -s -o "$dir/body" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H 'Transfer-Encoding: chunked' --data-binary "@$dir/big.json" "$url/v1/completions" ||
        true)
    case $got in 413|100|000) ;; *) fail "chunked 10 MB body: status $got" ;; esac
    body '{"model":"nobody","prompt":"x"}'
    bad 404 model_not_found model POST /v1/completions "$dir/req.json"
    body '{"model":"base","messages":[{"role":"user","content":"x"}],"max_tokens":0}'
    bad 400 invalid_value max_tokens POST /v1/chat/completions "$dir/req.json"
    body '{"model":"base","prompt":"x","max_tokens":-3}'
    bad 400 invalid_value max_tokens POST /v1/completions "$dir/req.json"
    body '{"model":"base","prompt":"x","max_tokens":100000}'
    bad 400 invalid_value - POST /v1/completions "$dir/req.json"
    $py -c 'import json; print(json.dumps({"model": "base", "prompt": "x" * 3000}))' >"$dir/long.json"
    bad 400 invalid_value - POST /v1/completions "$dir/long.json"
    $py -c 'import json; print(json.dumps({"model": "auto", "messages": [{"role": "user", "content": "x" * 3000}]}))' >"$dir/long.json"
    bad 400 invalid_value - POST /v1/chat/completions "$dir/long.json"
    printf '{"model":"base","prompt":"caf\351"}' >"$dir/latin1.json"
    bad 400 invalid_utf8 - POST /v1/completions "$dir/latin1.json"
    body '{"model":"base","prompt":"\ud800"}'
    bad 400 invalid_json - POST /v1/completions "$dir/req.json"
    body '{"model":"base","messages":[]}'
    bad 400 invalid_value messages POST /v1/chat/completions "$dir/req.json"
    body '{"model":"base"}'
    bad 400 missing_required_parameter messages POST /v1/chat/completions "$dir/req.json"
    body '{"model":"base","messages":[{"content":"x"}]}'
    bad 400 invalid_value messages POST /v1/chat/completions "$dir/req.json"
    body '{"model":"base","messages":[{"role":"wizard","content":"x"}]}'
    bad 400 invalid_value - POST /v1/chat/completions "$dir/req.json"
    body '{"prompt":"x"}'
    bad 400 missing_required_parameter model POST /v1/completions "$dir/req.json"
    body '{"model":"base","prompt":"x","temperature":3}'
    bad 400 invalid_value temperature POST /v1/completions "$dir/req.json"
    body '{"model":"base","prompt":"x","top_p":0}'
    bad 400 invalid_value top_p POST /v1/completions "$dir/req.json"
    body '{"model":"base","prompt":"x","n":2}'
    bad 400 invalid_value n POST /v1/completions "$dir/req.json"
    body '{"model":"base","prompt":"x","stop":["a","b","c","d","e"]}'
    bad 400 invalid_value stop POST /v1/completions "$dir/req.json"
    body '{"model":"base","prompt":"x","stop":""}'
    bad 400 invalid_value stop POST /v1/completions "$dir/req.json"
    body '{"model":"base","prompt":"x","stream":"yes"}'
    bad 400 invalid_type stream POST /v1/completions "$dir/req.json"
    bad 404 not_found - GET /v1/nothing
    bad 405 method_not_allowed - GET /v1/completions
    grep -qi '^allow: POST' "$dir/head" || fail "405 without Allow"
    bad 405 method_not_allowed - DELETE /v1/models
    req 200 GET /health
    body '{"model":"auto","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"}],"max_tokens":8}'
    req 200 POST /v1/chat/completions "$dir/req.json"

    # Metrics: Prometheus text with the counts of what came before.
    req 200 GET /metrics
    grep -qi '^content-type: text/plain; version=0.0.4' "$dir/head" || fail "metrics content type"
    $py - "$dir/body" <<'EOF' || fail "metrics: $(head -c 3000 "$dir/body")"
import re, sys
text = open(sys.argv[1]).read()
values = {}
for line in text.splitlines():
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        continue
    m = re.fullmatch(r'([a-z_:][a-z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+]+|\+Inf)', line)
    assert m, "not an exposition line: " + line
    values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
def v(k): return values[k]
assert v('t2_serve_http_requests_total{endpoint="/v1/chat/completions",status="200"}') >= 6
assert v('t2_serve_http_requests_total{endpoint="/v1/completions",status="413"}') >= 1
assert v('t2_serve_http_requests_total{endpoint="/v1/completions",status="415"}') == 2
assert v('t2_serve_http_requests_total{endpoint="/v1/completions",status="404"}') == 1
assert v('t2_serve_request_duration_seconds_count{endpoint="/v1/chat/completions"}') >= 6
assert v('t2_serve_request_duration_seconds_bucket{endpoint="/v1/completions",le="+Inf"}') == v('t2_serve_request_duration_seconds_count{endpoint="/v1/completions"}')
assert v('t2_serve_queue_wait_seconds_count') >= 12
assert v('t2_serve_requests_total') >= 12 and v('t2_serve_completion_tokens_total') >= 12
assert 0 < v('t2_serve_prompt_tokens_cached_total') < v('t2_serve_prompt_tokens_total')
assert v('t2_serve_queue_depth') == 0 and v('t2_serve_active_sequences') == 0
assert v('t2_serve_routed_total{adaptation="math"}') >= 4
assert v('t2_serve_routed_total{adaptation="base"}') >= 2
assert 't2_serve_routed_total{adaptation="code"}' in values
EOF
    stop TERM
    # One line per request: method, path, status, seconds, and for completions the model,
    # adaptation, tokens and finish.
    grep -q -E '^t2 serve: POST /v1/chat/completions 200 [0-9.]+s model=auto adaptation=auto:[a-z]+ tokens=[0-9]+\+[0-9]+ cached=[0-9]+ route=[1-9][0-9]* finish=(stop|length)$' \
        "$dir/server.err" || fail "no log line of an auto request"
    grep -q -E '^t2 serve: POST /v1/completions 404 [0-9.]+s model=nobody error=model_not_found$' \
        "$dir/server.err" || fail "no log line of the unknown model"
    echo "serve api: all checks passed"
}

# long_seed PORT: prints a seed whose sampled completion of "Once" runs to 480 tokens (no
# end-of-sequence token), so that a stream with it holds its slot while a test acts; greedy
# and most seeds end within 30-160 tokens, a fraction of a second, which made the busy and
# disconnect cases flaky.
long_seed() {
    $py - "$1" <<'EOF'
import http.client, json, sys
for seed in range(1, 200):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=120)
    c.request("POST", "/v1/completions", json.dumps({"model": "base", "prompt": "Once",
              "max_tokens": 480, "temperature": 1, "seed": seed}), {"Content-Type": "application/json"})
    if json.loads(c.getresponse().read())["choices"][0]["finish_reason"] == "length":
        print(seed)
        break
else:
    sys.exit("no seed in 1..199 runs to 480 tokens")
EOF
}

clients() {
    start --store "$dir/S" --bundle "$dir/b.t2b" --timeout 3 --slots 1 --queue 0
    port=${url##*:}
    seed=$(long_seed "$port") || fail "finding a seed that holds a slot"
    # A client leaves after the first chunk of a long stream: cancelled, its slot freed.
    $py - "$port" "$seed" <<'EOF' || fail "disconnecting client"
import json, socket, sys
body = json.dumps({"model": "base", "prompt": "Once", "max_tokens": 480, "stream": True,
                   "temperature": 1, "seed": int(sys.argv[2])}).encode()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body)
got = b""
while got.count(b"data: ") < 2:
    piece = s.recv(4096)
    assert piece, "closed before the first chunks"
    got += piece
s.close()
EOF
    i=0
    until grep -q '^t2 serve: POST /v1/completions 200 .* finish=cancelled (' "$dir/server.err"; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "the left client's request was not cancelled"; sleep 0.1
    done
    # Full: with one slot and no queue, a second request while a stream runs gets 503.
    $py - "$port" "$seed" <<'EOF' || fail "busy server"
import http.client, json, sys
port = int(sys.argv[1])
a = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
a.request("POST", "/v1/completions", json.dumps({"model": "base", "prompt": "Once",
          "max_tokens": 480, "stream": True, "temperature": 1, "seed": int(sys.argv[2])}),
          {"Content-Type": "application/json"})
ra = a.getresponse()
assert ra.status == 200, ra.status
ra.readline(); ra.readline(); ra.readline()  # two events: the stream is decoding
b = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
b.request("POST", "/v1/completions", json.dumps({"model": "base", "prompt": "x"}),
          {"Content-Type": "application/json"})
rb = b.getresponse()
body = json.loads(rb.read())
assert rb.status == 503 and rb.getheader("Retry-After") == "1", (rb.status, rb.getheaders())
assert body["error"]["code"] == "server_busy", body
rest = ra.read().decode()
assert rest.endswith("data: [DONE]\n\n"), rest[-200:]
EOF
    # A slow client (a byte a second) is cut off after the timeout (3 s), not served for ever.
    $py - "$port" <<'EOF' || fail "slow client"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
request = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
start = time.time()
try:
    for i in range(len(request)):
        s.send(request[i:i + 1])
        s.settimeout(1.0)
        try:
            if s.recv(1) == b"":
                break
        except socket.timeout:
            pass
    else:
        sys.exit("sent %d bytes over %.0f s and the server still listens" % (len(request), time.time() - start))
except (BrokenPipeError, ConnectionResetError):
    pass
print("slow client closed after %.1f s" % (time.time() - start))
EOF
    body '{"model":"base","prompt":"x","max_tokens":2}'
    req 200 POST /v1/completions "$dir/req.json"
    req 200 GET /metrics
    grep -q '^t2_serve_active_sequences 0$' "$dir/body" || fail "a slot is still taken"
    grep -q '^t2_serve_client_disconnects_total [1-9]' "$dir/body" || fail "no disconnect counted"
    grep -q '^t2_serve_requests_cancelled_total [1-9]' "$dir/body" || fail "no cancel counted"
    stop TERM

    # SIGTERM while a stream runs: it finishes within the grace, then exit 0.
    start --store "$dir/S" --bundle "$dir/b.t2b"
    rm -f "$dir/body"
    curl -s -N -o "$dir/body" -H 'Content-Type: application/json' \
        -d '{"model":"auto","prompt":"Once","max_tokens":400,"stream":true}' \
        "$url/v1/completions" &
    cpid=$!
    until [ -s "$dir/body" ]; do sleep 0.05; done
    stop TERM
    wait $cpid || fail "curl during SIGTERM"
    events
    grep -q '"finish_reason": "\(stop\|length\)"' "$dir/events" || fail "SIGTERM cut the stream"
    # SIGINT with no grace: the stream ends with the error event and [DONE].
    start --grace 0
    rm -f "$dir/body"
    curl -s -N -o "$dir/body" -H 'Content-Type: application/json' \
        -d '{"model":"base","prompt":"Once","max_tokens":480,"stream":true}' \
        "$url/v1/completions" &
    cpid=$!
    until [ -s "$dir/body" ]; do sleep 0.05; done
    stop INT
    wait $cpid || fail "curl during SIGINT"
    events
    grep -q -E '"code": "cancelled"|"finish_reason": "(stop|length)"' "$dir/events" ||
        fail "SIGINT: the stream ends with neither a finish nor the cancel error"
    echo "serve clients: all checks passed"
}

# usage_error EXIT PATTERN ARGS...: t2 serve ARGS exits EXIT with one line matching PATTERN.
usage_error() {
    code=$1; pattern=$2; shift 2
    set +e
    "$@" >"$dir/out" 2>"$dir/err"
    rc=$?
    set -e
    [ $rc -eq "$code" ] || { cat "$dir/err"; fail "$*: exit $rc, expected $code"; }
    grep '^t2 serve: error: ' "$dir/err" | grep -q -E "$pattern" || { cat "$dir/err"; fail "$*: message"; }
    lines=$(grep -c '^t2 serve: error: ' "$dir/err" || true)
    [ "$lines" -eq 1 ] || { cat "$dir/err"; fail "$*: $lines error lines"; }
}

cli() {
    usage_error 2 "^t2 serve: error: strategy: 'fewshot' is not known; expected prompt or classifier$" \
        "$t2" serve --model "$model" --strategy fewshot
    usage_error 2 "^t2 serve: error: expert_form: 'lora' is not known; expected auto, composed or factored$" \
        "$t2" serve --model "$model" --expert-form lora
    usage_error 2 "^t2 serve: error: kv_cache: 'bf16' is not known; expected f32 or f16$" \
        "$t2" serve --model "$model" --kv-cache bf16
    usage_error 2 "^t2 serve: error: store: not set" \
        "$t2" serve --model "$model" --bundle "$dir/b.t2b"
    usage_error 2 "^t2 serve: error: .*--model" "$t2" serve --port 0
    usage_error 2 "^t2 serve: error: --port" "$t2" serve --model "$model" --port 70000
    usage_error 2 "^t2 serve: error: --config" "$t2" serve --model "$model" --config
    usage_error 1 "^t2 serve: error: .*nowhere" "$t2" serve --model "$dir/nowhere" --port 0
    usage_error 1 "^t2 serve: error: host: 'no.such.host.invalid' does not resolve" \
        "$t2" serve --model "$model" --host no.such.host.invalid --port 0
    # the experts' composed copies past the memory available (T2_MEMORY_AVAILABLE bytes)
    usage_error 1 "^t2 serve: error: expert_form composed: the experts' W' copies take [0-9.]+ GB, more than the 0.00 GB of memory available; expected expert_form factored \(no copies\) or auto$" \
        env T2_MEMORY_AVAILABLE=1000 "$t2" serve --model "$model" --store "$dir/S" \
        --bundle "$dir/b.t2b" --expert-form composed --port 0
    usage_error 2 "^t2 serve: error: mpirun: 2 ranks; expected one process" \
        "$mpiexec" -n 2 --oversubscribe "$t2" serve --model "$model" --port 0
    # the port in use: a second server on the first one's port
    start
    usage_error 1 "^t2 serve: error: 127.0.0.1:${url##*:}: cannot listen \(Address already in use\)" \
        "$t2" serve --model "$model" --port "${url##*:}"
    stop TERM
    # a config file (CONFIG first or --config) sets the same keys
    printf 'model = "%s";\nport = 0;\nslots = 2;\nstrategy = "classifier";\nexpert_form = "factored";\nkv_cache = "f16";\nprompt_reuse = false;\n' \
        "$model" \
        >"$dir/serve.cfg"
    "$t2" serve --config "$dir/serve.cfg" --threads 1 2>"$dir/server.err" &
    pid=$!
    i=0
    until grep -q 'listening on' "$dir/server.err"; do
        i=$((i + 1)); [ $i -lt 600 ] || fail "config: no listening line"; sleep 0.1
    done
    i=0
    until grep -q '; 2 slots, queue 64, strategy classifier, expert form factored, KV cache f16, prompt reuse off$' "$dir/server.err"; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "config keys: '$(cat "$dir/server.err")'"; sleep 0.1
    done
    # the float16 cache answers like any other; without prompt reuse the same prompt again
    # is prefilled whole
    url=$(sed -n 's/^t2 serve: listening on \(http:[^ ]*\)$/\1/p' "$dir/server.err")
    body '{"model":"base","prompt":"Question: What is 4 + 4?\nAnswer:","max_tokens":8,"temperature":0}'
    for again in 1 2; do
        req 200 POST /v1/completions "$dir/req.json"
        check "d['object'] == 'text_completion' and 1 <= d['usage']['completion_tokens'] <= 8 and d['usage']['prompt_tokens_details']['cached_tokens'] == 0"
    done
    stop TERM
    echo "serve cli: all checks passed"
}

case $mode in
fixtures) fixtures ;;
api) api ;;
clients) clients ;;
cli) cli ;;
*) fail "unknown mode $mode" ;;
esac
