#!/usr/bin/env python3
"""loop_client.py - a bounded event and recommendation flood for test_loop.sh.

  loop_client.py BASE USERS_FILE OUT_DIR SECONDS

Threads post batches of 5 events (each with a unique event_id) and ask for
recommendations until SECONDS have passed (at most 20,000 requests). Writes
OUT_DIR/acked (event ids acknowledged with 200, one "user<TAB>event_id<TAB>
item" per line), OUT_DIR/refused (ids answered 503) and OUT_DIR/summary.json
(counts by kind and status). Only talks to BASE, a loopback address."""
import json, os, sys, threading, time, urllib.error, urllib.request

base, users_file, out, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
users = [u for u in open(users_file).read().split() if u][:50]
deadline = time.time() + seconds
lock = threading.Lock()
counts, acked, refused = {}, [], []
budget = [20000]


def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except Exception:  # connection errors count as status 0
        return 0, None


def worker(tid):
    n = 0
    while time.time() < deadline:
        with lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        n += 1
        if n % 2:
            evs = [{"user": f"flood-{tid}-{n}-{j}", "item": f"i{j}", "type": "click",
                    "event_id": f"e-{tid}-{n}-{j}"} for j in range(5)]
            status, body = call("POST", "/v1/events", evs)
            kind = "events"
            with lock:
                (acked if status == 200 else refused).extend(
                    f"{e['user']}\t{e['event_id']}\t{e['item']}" for e in evs)
        else:
            status, body = call("GET", f"/v1/users/{users[n % len(users)]}/recommendations?k=10")
            kind = "recs"
        with lock:
            counts[f"{kind} {status}"] = counts.get(f"{kind} {status}", 0) + 1


threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
open(os.path.join(out, "acked"), "w").write("".join(x + "\n" for x in acked))
open(os.path.join(out, "refused"), "w").write("".join(x + "\n" for x in refused))
json.dump(counts, open(os.path.join(out, "summary.json"), "w"))
