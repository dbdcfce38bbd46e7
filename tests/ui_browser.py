#!/usr/bin/env python3
"""ui_browser.py - drives the inspector page (service/ui) in headless
Chromium, as a person would: real mouse clicks and key presses through the
DevTools protocol over --remote-debugging-pipe (Python standard library
only, no npm, no WebSocket). Run by tests/test_ui.sh, one scenario per run:

  main      same origin: pick a user, click an item, check that the session
            chart and the recommendation list changed, similar items; each
            item's sources and ranker features; an unknown user's popular
            answer explained; a dislike shown as a negative session
            interest that falls in the blend; screenshot
  cors      the page on another origin, ?api= pointing at the server
  nocors    the same against a server that does not allow that origin: the
            page must say it cannot reach the API
  degraded  Redis is down: the page shows it, a click is refused visibly
  catalogue the live catalogue against a server with auth.api_keys: Hide
            without the admin key refused in the page, the key entered, an
            item hidden from the list (and listed as hidden), unhidden
            again, a new item (PUT by the test) listed under New; the
            Promotions panel only when its route answers; screenshot of the
            panel

Prints "ok - ..." / "not ok - ..." lines; exits 1 if any check failed.
  ui_browser.py --chromium /usr/bin/chromium --scenario main --url URL
                [--user ID] [--model-version V] [--screenshot FILE]
                [--key ADMIN_KEY --new-item ID]   (catalogue)
"""
import argparse
import base64
import fcntl
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

FAILS = 0


def ok(name, cond, detail=""):
    global FAILS
    if cond:
        print(f"ok - {name}", flush=True)
    else:
        FAILS += 1
        print(f"not ok - {name}" + (f": {detail}" if detail else ""), flush=True)
    return cond


class CDPError(Exception):
    pass


class Browser:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4
    (replies and events out), messages separated by NUL bytes."""

    def __init__(self, chromium, width=1360, height=1000):
        self.profile = tempfile.mkdtemp(prefix="mixrec-ui-chromium-")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Move the child's ends above 10 so the dup2 to 3 and 4 cannot clobber them.
        hi_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def child_fds():
            os.dup2(hi_r, 3)  # dup2 clears close-on-exec on 3 and 4 only
            os.dup2(hi_w, 4)

        args = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--mute-audio", "--hide-scrollbars",
            "--force-color-profile=srgb", f"--window-size={width},{height}", "about:blank",
        ]
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, close_fds=False, preexec_fn=child_fds)
        os.close(hi_r)
        os.close(hi_w)
        self.wfd = to_chrome_w
        self.rfd = from_chrome_r
        self.next_id = 0
        self.replies = {}
        self.cv = threading.Condition()
        self.events = queue.Queue()
        self.console = []  # (kind, text) of errors the page reported
        self.closed = False
        threading.Thread(target=self._reader, daemon=True).start()
        self.width, self.height = width, height
        self.session = None

    def _reader(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.rfd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self.cv:
                    self.closed = True
                    self.cv.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self.cv:
                        self.replies[msg["id"]] = msg
                        self.cv.notify_all()
                else:
                    self._on_event(msg)

    def _on_event(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.console.append(("exception", d.get("exception", {}).get("description") or d.get("text")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.console.append(("console", " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", []))))
        elif m == "Log.entryAdded":
            e = p.get("entry", {})
            if e.get("level") == "error":
                self.console.append((e.get("source", "log"), e.get("text", "")))
        self.events.put(msg)

    def send(self, method, params=None, session=True, timeout=15):
        with self.cv:
            self.next_id += 1
            mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self.cv:
            while mid not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise CDPError(f"{method}: no reply ({'browser gone' if self.closed else 'timeout'})")
                self.cv.wait(left)
            reply = self.replies.pop(mid)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def wait_event(self, method, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError(f"no {method} within {timeout}s")
            try:
                msg = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if msg.get("method") == method:
                return msg.get("params", {})

    def open_page(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next((t for t in targets if t["type"] == "page"), None)
        tid = page["targetId"] if page else self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True}, session=False)["sessionId"]
        for d in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(d)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})

    def navigate(self, url, timeout=20):
        while not self.events.empty():
            self.events.get_nowait()
        r = self.send("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CDPError(f"navigate {url}: {r['errorText']}")
        self.wait_event("Page.loadEventFired", timeout)

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError(f"evaluate: {d.get('exception', {}).get('description') or d.get('text')}")
        return r.get("result", {}).get("value")

    def wait_for(self, expr, timeout=15):
        """Polls a JavaScript expression until it is truthy; returns its value (None on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.1)
        return None

    def click(self, selector):
        """A real mouse click at the centre of the first element matching selector."""
        box = self.eval(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()""")
        if not box:
            raise CDPError(f"click: nothing matches {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            ev = {"type": kind, "x": box["x"], "y": box["y"]}
            if kind != "mouseMoved":
                ev.update(button="left", clickCount=1)
            self.send("Input.dispatchMouseEvent", ev)

    def type_into(self, selector, text):
        self.click(selector)
        self.eval(f"document.querySelector({json.dumps(selector)}).select()")
        self.send("Input.insertText", {"text": text})

    def press_enter(self):
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": "Enter", "code": "Enter",
                                                 "windowsVirtualKeyCode": 13, "text": "\r" if kind == "keyDown" else ""})

    def screenshot(self, path, selector=None):
        """The whole page, or only the element matching selector."""
        self.eval("window.scrollTo(0, 0)")
        if selector:
            r = self.eval(f"""(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();
                return {{x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}}; }})()""")
            clip = {**r, "scale": 1}
        else:
            m = self.send("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            clip = {"x": 0, "y": 0, "width": self.width, "height": max(self.height, int(size["height"])), "scale": 1}
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}, timeout=30)
        data = base64.b64decode(shot["data"])
        with open(path, "wb") as f:
            f.write(data)
        return len(data)

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except CDPError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.wfd)
        self.log.close()
        subprocess.run(["rm", "-rf", self.profile])


# ---- what the page shows, read from its DOM ------------------------------

SNAPSHOT = """(() => {
  const num = (s) => parseFloat(s || '0');
  const rows = [...document.querySelectorAll('#chart .row[data-interest]')].map((r) => ({
    id: +r.dataset.interest,
    long: num(r.querySelector('[data-kind=long]').dataset.weight),
    session: num(r.querySelector('[data-kind=session]').dataset.weight),
    blended: num(r.querySelector('[data-kind=blended]').dataset.weight),
  }));
  const items = [...document.querySelectorAll('#recs li[data-item]')].map((li) => ({
    item: li.dataset.item, interest: li.dataset.interest === '' ? null : +li.dataset.interest,
    reason: li.dataset.reason, isNew: li.classList.contains('new'),
    sources: [...li.querySelectorAll('.source')].filter((e) => e.offsetWidth > 0).map((e) => e.dataset.source),
    features: [...li.querySelectorAll('.features li')].filter((e) => e.offsetWidth > 0).map((e) => e.dataset.feature),
    placedBy: li.dataset.placedBy,
  }));
  const why = document.getElementById('recs-explanation');
  const stats = document.getElementById('mixture-stats').dataset;
  return {
    loads: +document.body.dataset.loads, state: document.body.dataset.state, rows, items,
    sessionEvents: +(stats.sessionEvents || 0), sessionShare: num(stats.sessionShare),
    redis: document.getElementById('redis-pill').dataset.state,
    model: document.getElementById('model-pill').dataset.version || '',
    degradedShown: !document.getElementById('degraded').hidden,
    apiError: document.getElementById('api-error').hidden ? '' : document.getElementById('api-error').textContent,
    log: [...document.querySelectorAll('#log li')].map((li) => li.textContent),
    explanation: why.hidden || why.offsetHeight === 0 ? '' : why.textContent,
  };
})()"""


def snapshot(b):
    return b.eval(SNAPSHOT)


def choose_user(b, user, loads_before):
    b.type_into("#user", user)
    b.click("#show")
    return b.wait_for(f"+document.body.dataset.loads > {loads_before} && document.body.dataset.state === 'ready'")


def page_errors(b, allow=()):
    return [f"{k}: {t}" for k, t in b.console if not any(a in (t or "") for a in allow)]


def scenario_main(b, a):
    b.navigate(a.url)
    ok("page loads with its title", b.eval("document.title") == "mixrec inspector")
    ok("stylesheet applied (no CDN, no build step)",
       b.eval("getComputedStyle(document.querySelector('.topbar')).display") == "flex")
    ok("health corner shows the model version",
       b.wait_for(f"document.getElementById('model-pill').dataset.version === {json.dumps(a.model_version)}", 10) is True,
       snapshot(b)["model"])
    ok("health corner shows Redis ok", b.wait_for("document.getElementById('redis-pill').dataset.state === 'ok'", 10) is True)
    ok("health corner shows the learned ranker in use",
       b.wait_for("/^ranker: [0-9]+ trees$/.test(document.getElementById('ranker-pill').textContent)", 10) is True,
       b.eval("document.getElementById('ranker-pill').textContent"))
    ok("degraded banner hidden while Redis is up", b.eval("document.getElementById('degraded').hidden") is True)
    ok("health corner shows the service's click-through (from /metrics)",
       b.wait_for("document.getElementById('ctr-pill').dataset.value !== undefined"
                  " && /^click-through [0-9.]+%$/.test(document.getElementById('ctr-pill').textContent)", 10) is True,
       b.eval("document.getElementById('ctr-pill').textContent"))
    ok("click-through table: overall and by route and order",
       b.eval("document.querySelectorAll('#ctr-table tbody tr').length === 5"
              " && document.querySelectorAll('#ctr-table td[data-order]').length === 15"
              " && document.querySelector('#ctr-table tr[data-route=\"all\"] td[data-order=\"all\"]') !== null") is True)

    ok("typing a user id and pressing Show loads the user", choose_user(b, a.user, 0) is True)
    s0 = snapshot(b)
    ok("chart shows the long-term mixture", len(s0["rows"]) > 0 and all(r["long"] >= 0 for r in s0["rows"])
       and sum(r["long"] for r in s0["rows"]) > 0.5, json.dumps(s0["rows"])[:300])
    ok("no session yet: session bars empty, 0 events",
       s0["sessionEvents"] == 0 and all(r["session"] == 0 for r in s0["rows"]))
    ok(f"recommendation list has {len(s0['items'])} items with interests and reasons",
       len(s0["items"]) == 20 and all(i["interest"] is not None and i["reason"] for i in s0["items"]))
    ok("titles, categories and scores are shown",
       b.eval("[...document.querySelectorAll('#recs li[data-item]')].every(li => li.querySelector('.title').textContent.length > 0"
              " && li.querySelector('.chip') && /^\\d+\\.\\d{4}$/.test(li.querySelector('.score').textContent))") is True)
    ok("items are coloured by interest (legend colour = chart colour)", b.eval("""(() => {
        const li = document.querySelector('#recs li[data-item]');
        const row = document.querySelector(`#chart .row[data-interest="${li.dataset.interest}"] .dot`);
        return !!row && getComputedStyle(li).borderLeftColor === getComputedStyle(row).backgroundColor; })()""") is True)

    # Click an item of an interest the user cares little about, so the shift shows.
    top = max(s0["rows"], key=lambda r: r["blended"])["id"]
    target = next((i for i in s0["items"] if i["interest"] != top), s0["items"][-1])
    ci = target["interest"]
    before_w = next((r["blended"] for r in s0["rows"] if r["id"] == ci), 0.0)
    b.click(f'#recs li[data-item="{target["item"]}"] .click-btn')
    ok("clicking an item posts the event and reloads", b.wait_for(
        "+document.body.dataset.loads >= 2 && document.body.dataset.state === 'ready'") is True)
    s1 = snapshot(b)
    sess = {r["id"]: r["session"] for r in s1["rows"]}
    ok("session chart changed: 1 event, the clicked item's interest has session weight",
       s1["sessionEvents"] == 1 and sess.get(ci, 0) > 0.5 and s1["sessionShare"] > 0,
       f"events {s1['sessionEvents']}, session {sess}")
    after_w = next((r["blended"] for r in s1["rows"] if r["id"] == ci), 0.0)
    ok(f"blended weight of interest #{ci} rose ({before_w:.3f} -> {after_w:.3f})", after_w > before_w + 0.05)
    ids0, ids1 = [i["item"] for i in s0["items"]], [i["item"] for i in s1["items"]]
    ok("recommendation list changed", ids0 != ids1, f"{ids0[:5]}... vs {ids1[:5]}...")
    ok("the clicked item is no longer recommended", target["item"] not in ids1)
    api_ids = b.eval(f"""fetch('/v1/users/' + encodeURIComponent({json.dumps(a.user)})
        + '/recommendations?k=20&explain=true').then(r => r.json()).then(d => d.items.map(i => i.item))""")
    ok("the list shown is the API's answer with the session", api_ids == ids1, f"{api_ids} vs {ids1}")
    ok("items the session brought are marked new", any(i["isNew"] for i in s1["items"]))
    ok("the activity log says the click was stored", any("stored" in t for t in s1["log"]), str(s1["log"][:3]))

    first = s1["items"][0]["item"]
    b.click(f'#recs li[data-item="{first}"] .similar-btn')
    got = b.wait_for(f"document.getElementById('similar-card').dataset.loaded === {json.dumps(first)}")
    sim = b.eval("[...document.querySelectorAll('#similar li[data-item]')].map(li => li.dataset.item)") or []
    ok(f"similar items shown for {first} ({len(sim)})", got is True and len(sim) == 10 and first not in sim)

    b.click("#group")
    ok("group by interest shows one heading per interest",
       b.eval("document.querySelectorAll('#recs .group-head').length") == len({i["interest"] for i in s1["items"]}))
    b.click("#group")

    # What found each item and what moved it: sources and ranker features, visible.
    ok("every item shows the retrieval sources that found it",
       all(i["sources"] and set(i["sources"]) <= {"mixture", "single", "popular"} for i in s1["items"]),
       str([i["sources"] for i in s1["items"][:3]]))
    ok("every ranked item shows the 3 features that moved it most",
       all(len(i["features"]) == 3 for i in s1["items"]), str([i["features"] for i in s1["items"][:3]]))
    api_src = b.eval(f"""fetch('/v1/users/' + encodeURIComponent({json.dumps(a.user)})
        + '/recommendations?k=20&explain=true').then(r => r.json()).then(d => d.items.map(i => i.sources.join(',')))""")
    ok("the sources shown are the API's", api_src == [",".join(i["sources"]) for i in s1["items"]])
    ok("a personal answer shows no 'mostly popular' explanation", s1["explanation"] == "", s1["explanation"])

    # An unknown user: popular items, and the page says why.
    stranger = "nobody-" + str(int(time.time()))
    ok("an unknown user loads", choose_user(b, stranger, snapshot(b)["loads"]) is True)
    s2 = snapshot(b)
    ok("an unknown user's popular answer is explained",
       "unknown user and no session: popular items" in s2["explanation"], s2["explanation"])
    ok("its items are popular, found by popularity", all(i["reason"] == "popular" and i["sources"] == ["popular"]
                                                        for i in s2["items"]))

    # A dislike: the interest turns negative in the session, falls in the
    # blend, the item leaves the list.
    ok("back to the user", choose_user(b, a.user, s2["loads"]) is True)
    s3 = snapshot(b)
    counts = {}  # the interest the list shows most (after the click, likely the clicked one:
    for i in s3["items"]:  # its dislike then outweighs the click)
        counts[i["interest"]] = counts.get(i["interest"], 0) + 1
    di = max(counts, key=counts.get)
    victim = next(i["item"] for i in s3["items"] if i["interest"] == di)
    before_d = next((r["blended"] for r in s3["rows"] if r["id"] == di), 0.0)
    b.click(f'#recs li[data-item="{victim}"] .dislike-btn')
    ok("the Dislike button posts the event and reloads",
       b.wait_for(f"+document.body.dataset.loads > {s3['loads']} && document.body.dataset.state === 'ready'") is True)
    s4 = snapshot(b)
    row = next((r for r in s4["rows"] if r["id"] == di), None)
    ok(f"interest #{di}: a negative session weight after the dislike",
       row is not None and row["session"] < 0, str(row))
    ok("the disliked interest is drawn as a red (negative) session bar with its share",
       b.eval(f"""(() => {{ const r = document.querySelector('#chart .row[data-interest="{di}"]');
         const bar = r && r.querySelector('.bar.session.negative');
         return !!bar && bar.getBoundingClientRect().width > 0
           && getComputedStyle(bar).backgroundColor === 'rgb(220, 38, 38)'
           && /session −\\d/.test(r.querySelector('.neg-session').textContent); }})()""") is True)
    ok(f"its blended weight fell ({before_d:.3f} -> {row['blended'] if row else 0:.3f})",
       row is not None and row["blended"] < before_d)
    ok("the disliked item is gone from the list", victim not in [i["item"] for i in s4["items"]])
    ok("the activity log says the dislike was stored", any("dislike" in t and "stored" in t for t in s4["log"]),
       str(s4["log"][:2]))

    errs = page_errors(b)
    ok("no JavaScript errors or CSP violations", not errs, "; ".join(errs)[:500])
    if a.screenshot:
        n = b.screenshot(a.screenshot)
        ok(f"screenshot saved ({n} bytes): {a.screenshot}", n > 10000)


def scenario_cors(b, a):
    b.navigate(a.url)
    ok("page from another origin loads the user named in ?user=",
       b.wait_for("+document.body.dataset.loads >= 1 && document.body.dataset.state === 'ready'") is True,
       snapshot(b)["apiError"])
    s0 = snapshot(b)
    ok("cross-origin: recommendations and interests arrive", len(s0["items"]) > 0 and len(s0["rows"]) > 0)
    ok("cross-origin: health corner reads /readyz", b.wait_for("document.getElementById('redis-pill').dataset.state === 'ok'", 10) is True)
    target = s0["items"][0]["item"]
    b.click(f'#recs li[data-item="{target}"] .click-btn')
    ok("cross-origin: a click (POST with preflight) is stored and the page updates",
       b.wait_for("+document.body.dataset.loads >= 2") is True and snapshot(b)["sessionEvents"] >= 1)
    ids1 = [i["item"] for i in snapshot(b)["items"]]
    ok("cross-origin: the list changed", target not in ids1)
    # Hide and Unhide from another origin (PATCH with a JSON body: a preflight)
    top = next(i["item"] for i in snapshot(b)["items"] if i["reason"] not in ("new", "promoted"))
    b.click(f'#recs li[data-item="{top}"] .hide-btn')
    got = b.wait_for(f"""(() => {{ const s = {CATALOGUE};
        return !s.busy && !s.recs.includes({json.dumps(top)}) && s.hidden.includes({json.dumps(top)}); }})()""", 10)
    ok(f"cross-origin: Hide ({top}) leaves the list and lists it as hidden", got is True, str(cat_state(b)))
    b.click(f'#cat-hidden li[data-item="{top}"] .unhide-btn')
    got = b.wait_for(f"""(() => {{ const s = {CATALOGUE}; return !s.busy && s.hidden.length === 0; }})()""", 10)
    ok("cross-origin: Unhide empties the hidden list", got is True, str(cat_state(b)))
    errs = page_errors(b)
    ok("cross-origin: no JavaScript errors", not errs, "; ".join(errs)[:500])
    if a.screenshot:
        b.screenshot(a.screenshot)


def scenario_nocors(b, a):
    b.navigate(a.url)
    msg = b.wait_for("!document.getElementById('api-error').hidden && document.getElementById('api-error').textContent", 15)
    ok("an API that does not allow this origin: the page says it cannot reach it",
       bool(msg) and "cannot reach the API" in msg, str(msg))
    ok("and shows no recommendations", b.eval("document.querySelectorAll('#recs li[data-item]').length") == 0)


def scenario_tenants(b, a):
    """?tenant=shop: the picker shows every tenant, the page answers from
    shop's catalogue (items s...), and picking the default tenant switches
    to its own (items i...)."""
    b.navigate(a.url)
    ok("tenants: the page loads the user named in ?user=",
       b.wait_for("+document.body.dataset.loads >= 1 && document.body.dataset.state === 'ready'") is True,
       snapshot(b)["apiError"])
    picker = b.wait_for("!document.getElementById('tenant-field').hidden && "
                        "[...document.getElementById('tenant').options].map((o) => o.value).join(',')", 10)
    ok("tenants: the picker lists default and shop", picker == "default,shop", str(picker))
    ok("tenants: shop is picked (?tenant=shop)", b.eval("document.getElementById('tenant').value") == "shop")
    s0 = snapshot(b)
    ids = [i["item"] for i in s0["items"]]
    ok("tenants: shop's answer is from shop's catalogue", ids and all(i.startswith("s") for i in ids), str(ids[:5]))
    ok("tenants: the model pill shows shop's version",
       b.wait_for(f"document.getElementById('model-pill').dataset.version === {json.dumps(a.model_version)}", 10) is True,
       snapshot(b)["model"])
    loads = s0["loads"]
    b.eval("(() => { const s = document.getElementById('tenant'); s.value = 'default';"
           " s.dispatchEvent(new Event('change')); })()")
    ok("tenants: picking default loads again",
       b.wait_for(f"+document.body.dataset.loads > {loads} && document.body.dataset.state === 'ready'") is True)
    ids = [i["item"] for i in snapshot(b)["items"]]
    ok("tenants: the default tenant's answer is from its catalogue", ids and all(i.startswith("i") for i in ids),
       str(ids[:5]))
    ok("tenants: the address says no tenant", "tenant=" not in b.eval("location.search"))
    errs = page_errors(b)
    ok("tenants: no JavaScript errors", not errs, "; ".join(errs)[:500])
    if a.screenshot:
        b.screenshot(a.screenshot)


def scenario_degraded(b, a):
    b.navigate(a.url)
    ok("Redis down: the user still loads (long-term profile)",
       b.wait_for("+document.body.dataset.loads >= 1 && document.body.dataset.state === 'ready'") is True)
    ok("Redis down: health corner says so",
       b.wait_for("document.getElementById('redis-pill').dataset.state === 'degraded'", 10) is True,
       snapshot(b)["redis"])
    s = snapshot(b)
    ok("Redis down: the degraded banner is visible",
       s["degradedShown"] and b.eval("document.getElementById('degraded').getBoundingClientRect().height") > 0)
    ok("Redis down: the session is shown as unavailable",
       b.eval("[...document.querySelectorAll('#mixture-stats .stat.bad')].some(e => e.textContent.includes('unavailable'))") is True)
    ok("Redis down: recommendations still listed", len(s["items"]) > 0)
    target = s["items"][0]["item"]
    b.click(f'#recs li[data-item="{target}"] .click-btn')
    msg = b.wait_for("[...document.querySelectorAll('#log li.error')].map(li => li.textContent).join(' ')", 10)
    ok("Redis down: a click is refused visibly (not stored)", bool(msg) and "not stored" in msg, str(msg))
    b.click(f'#recs li[data-item="{target}"] .hide-btn')
    msg = b.wait_for("!document.getElementById('catalogue-error').hidden && document.getElementById('catalogue-error').textContent", 10)
    ok("Redis down: Hide is refused in the page (503, nothing changed)",
       bool(msg) and target in msg and "Redis is unavailable" in msg, str(msg))
    ok("Redis down: the item stays in the list", target in [i["item"] for i in snapshot(b)["items"]])
    errs = page_errors(b, allow=("503",))
    ok("Redis down: no JavaScript errors", not errs, "; ".join(errs)[:500])
    if a.screenshot:
        n = b.screenshot(a.screenshot)
        ok(f"screenshot saved ({n} bytes): {a.screenshot}", n > 10000)


CATALOGUE = """(() => {
  const card = document.getElementById('catalogue-card');
  const ids = (sel) => [...document.querySelectorAll(sel)].map((li) => li.dataset.item);
  const err = document.getElementById('catalogue-error');
  return {
    reads: +(card.dataset.reads || 0), state: card.dataset.state || '', busy: card.dataset.busy === '1',
    settledMs: card.dataset.settledMs === undefined ? null : +card.dataset.settledMs,
    hidden: ids('#cat-hidden li[data-item]'), fresh: ids('#cat-new li[data-item]'),
    expiring: ids('#cat-expiring li[data-item]'),
    hiddenText: document.getElementById('cat-hidden').textContent,
    hiddenCount: document.getElementById('cat-hidden-count').textContent,
    error: err.hidden ? '' : err.textContent,
    recs: ids('#recs li[data-item]'),
    promotionsShown: !document.getElementById('promotions-card').hidden,
    promotions: [...document.querySelectorAll('#promotions li[data-promotion]')].map((li) => li.dataset.promotion),
    experimentsShown: !document.getElementById('experiments-card').hidden,
    experiments: [...document.querySelectorAll('#experiments [data-experiment]')].map((d) => ({
      name: d.dataset.experiment, mode: d.dataset.mode,
      rows: [...d.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)) })),
  };
})()"""


def cat_state(b):
    return b.eval(CATALOGUE)


def api_recs(b, user):
    """The item ids of the API's answer for user, fetched by the page's origin."""
    return b.eval(f"""fetch('/v1/users/' + encodeURIComponent({json.dumps(user)}) + '/recommendations?k=20&explain=true')
        .then(r => r.json()).then(d => d.items.map(i => i.item))""")


def scenario_catalogue(b, a):
    key = json.dumps(a.key)
    b.navigate(a.url)
    ok("catalogue: the user loads", b.wait_for("+document.body.dataset.loads >= 1 && document.body.dataset.state === 'ready'") is True,
       snapshot(b)["apiError"])
    ok("catalogue: the panel is there, its lists read once",
       b.wait_for("+(document.getElementById('catalogue-card').dataset.reads || 0) >= 1", 10) is True)
    c0 = cat_state(b)
    ok("catalogue: without the admin key the lists are read (a read route) and empty",
       c0["state"] != "error" and "No hidden items" in c0["hiddenText"], c0["hiddenText"])
    ok("catalogue: every recommended item has a Hide button",
       b.eval("[...document.querySelectorAll('#recs li[data-item]')].every(li => li.querySelector('.hide-btn'))") is True)

    # Hide without the key: refused, said in the page, the item stays.
    # the first item the model knows (a new or promoted one is placed, not ranked)
    top = next(i["item"] for i in snapshot(b)["items"] if i["reason"] not in ("new", "promoted"))
    b.click(f'#recs li[data-item="{top}"] .hide-btn')
    msg = b.wait_for("!document.getElementById('catalogue-error').hidden && document.getElementById('catalogue-error').textContent", 10)
    ok("Hide without the key: an error in the page (401, enter the admin key)",
       bool(msg) and top in msg and "X-API-Key" in msg and "is required" in msg and "admin key" in msg, str(msg))
    ok("Hide without the key: the activity log says so too",
       any("Could not hide" in t for t in snapshot(b)["log"]), str(snapshot(b)["log"][:2]))
    time.sleep(1.2)  # longer than a change takes to reach the answers
    ok("Hide without the key: the item stays in the API's answer", top in (api_recs(b, a.user) or []))
    loads = snapshot(b)["loads"]
    b.click("#show")
    b.wait_for(f"+document.body.dataset.loads > {loads} && document.body.dataset.state === 'ready'")
    ok("Hide without the key: the item stays in the list", top in cat_state(b)["recs"])

    # The key: typed once, kept for the tab only, sent as X-API-Key.
    reads = cat_state(b)["reads"]
    b.type_into("#admin-key", a.key)
    b.click("#catalogue-refresh")
    ok("with the admin key the lists load",
       b.wait_for(f"+document.getElementById('catalogue-card').dataset.reads > {reads}"
                  " && document.getElementById('catalogue-card').dataset.state === 'ok'", 10) is True, str(cat_state(b)))
    c1 = cat_state(b)
    ok("the error is gone once the key is given", c1["error"] == "", c1["error"])
    ok("hidden list: empty to start with", c1["hidden"] == [] and c1["hiddenCount"] == "0"
       and "No hidden items" in c1["hiddenText"], str(c1))
    ok(f"the item added by PUT is listed under New ({a.new_item})", a.new_item in c1["fresh"], str(c1["fresh"]))
    ok("the New list shows its title and category",
       b.eval(f"""(() => {{ const li = document.querySelector('#cat-new li[data-item={json.dumps(a.new_item)}]');
           return !!li && li.textContent.includes('Brand new') && !!li.querySelector('.chip'); }})()""") is True)
    ok("the key is kept in sessionStorage, not in the address or localStorage",
       b.eval(f"sessionStorage.getItem('mixrec.adminKey') === {key} && !location.href.includes({key})"
              f" && !Object.values(localStorage).some(v => v.includes({key}))") is True)
    ok("the key is not in the activity log",
       not any(a.key in t for t in snapshot(b)["log"]))

    # Hide with the key: the item leaves the list and enters the hidden list.
    t0 = time.monotonic()
    b.click(f'#recs li[data-item="{top}"] .hide-btn')
    got = b.wait_for(f"""(() => {{ const s = {CATALOGUE};
        return !s.busy && !s.recs.includes({json.dumps(top)}) && s.hidden.includes({json.dumps(top)}); }})()""", 10)
    took = time.monotonic() - t0
    c2 = cat_state(b)
    ok(f"Hide: {top} left the list and is listed as hidden ({took:.2f} s, page settled in {c2['settledMs']} ms)",
       got is True and c2["error"] == "", str(c2))
    ok("Hide: the list refilled to 20 items", len(c2["recs"]) == 20, str(len(c2["recs"])))
    ok("Hide: the API's answer no longer holds it", top not in (api_recs(b, a.user) or []))
    ok("Hide: the hidden item has an Unhide button",
       b.eval(f"!!document.querySelector('#cat-hidden li[data-item={json.dumps(top)}] .unhide-btn')") is True)
    if a.screenshot:
        n = b.screenshot(a.screenshot, "#catalogue-card")
        ok(f"screenshot of the catalogue panel saved ({n} bytes): {a.screenshot}", n > 5000)

    # Unhide: the hidden list empties, the item comes back.
    b.click(f'#cat-hidden li[data-item="{top}"] .unhide-btn')
    got = b.wait_for(f"""(() => {{ const s = {CATALOGUE};
        return !s.busy && s.hidden.length === 0 && s.recs.includes({json.dumps(top)}); }})()""", 10)
    c3 = cat_state(b)
    ok(f"Unhide: the hidden list is empty again and {top} is back in the list", got is True, str(c3))
    ok("Unhide: the API's answer holds it again", top in (api_recs(b, a.user) or []))

    # New and promoted items in answers: badges (when the answer holds one).
    reasons = b.eval(f"""fetch('/v1/users/' + encodeURIComponent({json.dumps(a.user)}) + '/recommendations?k=20&explain=true')
        .then(r => r.json()).then(d => d.items.filter(i => i.reason === 'new' || i.reason === 'promoted').map(i => [i.item, i.reason]))""") or []
    if reasons:
        ok(f"items the answer gives as new/promoted carry the badge ({len(reasons)})", b.eval(f"""{json.dumps(reasons)}.every(([id, r]) => {{
            const li = document.querySelector(`#recs li[data-item="${{id}}"]`);
            const badge = li && li.querySelector('.reason.' + r);
            return !!badge && badge.textContent === (r === 'new' ? 'new item' : r)
              && getComputedStyle(badge).backgroundColor !== 'rgba(0, 0, 0, 0)'; }})""") is True)
    else:
        print("# no item with reason new or promoted in this answer: badges not checked", flush=True)

    # Promotions: the panel is shown exactly when the route answers 200.
    # (asked only when /openapi.json lists the route, as the page does: no 404 in the console)
    listed = b.eval("fetch('/openapi.json').then(r => r.json()).then(d => !!(d.paths['/v1/admin/promotions'] || {}).get)")
    status = b.eval(f"fetch('/v1/admin/promotions', {{headers: {{'X-API-Key': {key}}}}}).then(r => r.status)") if listed else 404
    reads = cat_state(b)["reads"]
    b.click("#catalogue-refresh")  # the page reads them again now
    b.wait_for(f"+document.getElementById('catalogue-card').dataset.reads > {reads}", 10)
    c4 = cat_state(b)
    if status == 200:
        n = b.eval(f"fetch('/v1/admin/promotions', {{headers: {{'X-API-Key': {key}}}}}).then(r => r.json()).then(d => d.promotions.length)")
        ok(f"promotions panel shown with the route's {n} promotions", c4["promotionsShown"] and len(c4["promotions"]) == n, str(c4))
    else:
        ok(f"promotions panel hidden quietly ({'the route answers ' + str(status) if listed else 'no such route in /openapi.json'})",
           not c4["promotionsShown"])

    # Experiments: each experiment's report as the route gives it.
    listed = b.eval("fetch('/openapi.json').then(r => r.json()).then(d => !!(d.paths['/v1/admin/experiments'] || {}).get)")
    if listed:
        want = b.eval(f"""fetch('/v1/admin/experiments', {{headers: {{'X-API-Key': {key}}}}}).then(r => r.json())
          .then(d => Promise.all(d.experiments.map(e => fetch('/v1/admin/experiments/' + encodeURIComponent(e.name) + '/report',
            {{headers: {{'X-API-Key': {key}}}}}).then(r => r.json()))))""")
        got = {e["name"]: e for e in c4["experiments"]}
        same = c4["experimentsShown"] and len(got) == len(want) and len(want) > 0
        for r in want if same else []:
            rows = got.get(r["experiment"], {}).get("rows", [])
            if r["mode"] == "interleave":
                same = same and [row[:2] for row in rows[:2]] == [[v["name"], str(v["wins"])] for v in r["variants"]]
            else:  # variant, users, answers, clicks, as the report has them now (or later: more)
                same = same and len(rows) == len(r["variants"]) and all(
                    row[0] == v["name"] and int(row[2]) <= v["impressions"] + 5 and int(row[2]) >= 0
                    for row, v in zip(rows, r["variants"]))
        ok(f"experiments panel shows the {len(want)} experiments' reports, a row per variant", same, str(c4["experiments"])[:500])
    else:
        ok("experiments panel hidden (no such route in /openapi.json)", not c4["experimentsShown"])

    errs = page_errors(b, allow=("401",))
    ok("catalogue: no JavaScript errors (but the refused requests)", not errs, "; ".join(errs)[:500])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--scenario", required=True, choices=["main", "cors", "nocors", "degraded", "catalogue", "tenants"])
    p.add_argument("--url", required=True)
    p.add_argument("--user", default="")
    p.add_argument("--model-version", default="")
    p.add_argument("--screenshot", default="")
    p.add_argument("--key", default="")
    p.add_argument("--new-item", default="")
    a = p.parse_args()
    b = Browser(a.chromium)
    try:
        b.open_page()
        globals()["scenario_" + a.scenario](b, a)
    except CDPError as e:
        ok(f"{a.scenario}: browser step", False, str(e))
        b.log.flush()
        with open(b.log.name, "rb") as f:  # what Chromium said, for the diagnosis
            tail = f.read()[-2000:].decode("utf-8", "replace")
        print("# chromium log (end):\n" + "\n".join("#   " + l for l in tail.splitlines()), flush=True)
    finally:
        b.close()
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
