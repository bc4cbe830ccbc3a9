"""Daemon: alert latency beside a trickling feed, SIGTERM time, and hostile documents bounded.

    python -m benchmarks daemon [--repeat 3] [--trickle 0.5] [--quick]

latency  `reader daemon` on two feeds, each on a loopback host of its own: a
         fast one whose article matches a rule, and a slow one that sends a
         byte every `--trickle` seconds (it would take minutes). A json://
         endpoint on a third host notes when the alert arrives. Measured: from
         the daemon's spawn to the alert, and from the fast feed's response to
         the alert; then SIGTERM while the slow feed still trickles, and the
         time to the daemon's exit (and its exit code).
hostile  `reader fetch` on a normal feed beside a 16 MB feed of 700,000 tags
         and a feed with a 10 MB title: the wall time, and what each feed got.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .bench_fetch import quiet_env
from .feedserver import REPO_ROOT

RULE = '''query = 'DeepSeek AND "export controls"'
notify = ["{endpoint}"]
title = "DeepSeek controls"
'''


def rss(title: str, entries: Sequence[tuple[str, str, str]]) -> bytes:
    now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(time.time() - 3600))
    items = "".join(f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid><description>{d}</description>"
                    f"<pubDate>{now}</pubDate></item>" for t, link, d in entries)  # fmt: skip
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://example.com/</link><description>d</description>{items}</channel></rss>").encode()


class Host(ThreadingHTTPServer):
    """One loopback host: serves `routes` (path -> (body, seconds between bytes)), notes POSTs and when
    each response ended. Bound without HTTPServer.server_bind's reverse lookup (seconds per address)."""

    daemon_threads = True

    def __init__(self, address: str, routes: dict[str, tuple[bytes, float]]):
        self.routes, self.events, self.posts = routes, [], []
        super().__init__((address, 0), _Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def server_bind(self) -> None:
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = self.server_address[0], self.server_address[1]

    def url(self, path: str) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}{path}"

    def handle_error(self, request, client_address) -> None:
        pass  # a client hanging up mid-trickle is expected


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Host

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append(time.perf_counter())
        self._send(b"ok", 0.0)

    def do_GET(self) -> None:  # noqa: N802
        body, trickle = self.server.routes.get(self.path, (b"", 0.0))
        self._send(body, trickle)

    def _send(self, body: bytes, trickle: float) -> None:
        try:
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml" if self.command == "GET" else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not trickle:
                self.wfile.write(body)
            else:
                for k in range(len(body)):
                    self.wfile.write(body[k : k + 1])
                    self.wfile.flush()
                    time.sleep(trickle)
            self.server.events.append((self.path, time.perf_counter()))
        except (BrokenPipeError, ConnectionResetError):
            pass


class World:
    """A data dir subscribed to `urls`, with the rule sending to `endpoint`, page fetching off."""

    def __init__(self, root: Path, urls: Sequence[str], endpoint: str, config: str = ""):
        self.data, self.config, self.rules = root / "data", root / "config", root / "rules"
        self.config.mkdir(parents=True)
        self.rules.mkdir()
        (self.config / "config.toml").write_text("[fetch]\nfulltext = false\n" + config)
        (self.rules / "deepseek.toml").write_text(RULE.format(endpoint=endpoint))
        self.env = quiet_env(READER_CONFIG_DIR=str(self.config), READER_RULES_DIR=str(self.rules))
        (root / "urls").write_text("\n".join(urls) + "\n")
        done = subprocess.run(self.command("feeds", "import", str(root / "urls")), env=self.env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"feeds import failed: {done.stderr[-500:]}")

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reader", "--data-dir", str(self.data), *args]


def latency_round(root: Path, trickle: float) -> dict[str, float]:
    fast_body = rss("Fast Wire", [("DeepSeek hit by new export controls", "http://example.com/fast/1",
                                   "DeepSeek faces export controls on its chips.")])  # fmt: skip
    slow_body = rss("Slow Wire", [(f"Quiet day {k}", f"http://example.com/slow/{k}", "Nothing happened " * 20)
                                  for k in range(10)])  # fmt: skip
    endpoint = Host("127.0.0.1", {})
    fast = Host("127.0.0.2", {"/feed.xml": (fast_body, 0.0)})
    slow = Host("127.0.0.3", {"/feed.xml": (slow_body, trickle)})
    try:
        world = World(root, [fast.url("/feed.xml"), slow.url("/feed.xml")],
                      "json://" + endpoint.url("/hook").removeprefix("http://"))  # fmt: skip
        started = time.perf_counter()
        daemon = subprocess.Popen(world.command("daemon", "--log-level", "info"), env=world.env, cwd=REPO_ROOT,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = started + 120
        while not endpoint.posts and time.perf_counter() < deadline and daemon.poll() is None:
            time.sleep(0.01)
        if not endpoint.posts:
            daemon.kill()
            raise RuntimeError(f"no alert arrived: {daemon.communicate()[1].decode()[-800:]}")
        alert = endpoint.posts[0]
        slow_done = bool(slow.events)
        stop = time.perf_counter()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(60)
        stopped = time.perf_counter()
        return {
            "spawn_to_alert": alert - started,
            "fast_feed_to_alert": alert - fast.events[0][1],
            "sigterm_to_exit": stopped - stop,
            "exit_code": code,
            "slow_feed_done_before_alert": float(slow_done),
            "slow_feed_total_seconds": len(slow_body) * trickle,
        }
    finally:
        for host in (endpoint, fast, slow):
            host.shutdown()
            host.server_close()


def hostile_round(root: Path) -> dict:
    normal = rss("Normal", [(f"Story {k}", f"http://example.com/n/{k}", "Text.") for k in range(20)])
    tags = b"".join(b"<item><title>t%d</title><link>http://example.com/x/%d</link><guid>g%d</guid>"
                    b"<description>d</description></item>" % (k, k, k) for k in range(140_000))  # 700,000 tags
    soup = b'<?xml version="1.0"?><rss version="2.0"><channel><title>soup</title>' + tags + b"</channel></rss>"
    title = rss("Title", [("word " * 2_000_000, "http://example.com/t/1", "Text.")])
    host = Host("127.0.0.4", {"/normal.xml": (normal, 0.0), "/soup.xml": (soup, 0.0), "/title.xml": (title, 0.0)})
    try:
        urls = [host.url(p) for p in ("/normal.xml", "/soup.xml", "/title.xml")]
        world = World(root, urls, "json://127.0.0.1:9/none", config="max_feed_bytes = 33554432\n")
        started = time.perf_counter()
        done = subprocess.run(world.command("fetch", "--json"), env=world.env, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        wall = time.perf_counter() - started
        feeds = {f["url"].rsplit("/", 1)[-1]: f for f in json.loads(done.stdout)["feeds"]} if done.returncode == 0 else {}
        return {"wall": wall, "code": done.returncode, "sizes": {"soup.xml": len(soup), "title.xml": len(title)},
                "feeds": feeds, "timings": json.loads(done.stdout)["timings"] if feeds else {}}  # fmt: skip
    finally:
        host.shutdown()
        host.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks daemon", description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--trickle", type=float, default=0.5, help="seconds between the slow feed's bytes")
    p.add_argument("--quick", action="store_true", help="one round")
    p.add_argument("--skip-hostile", action="store_true")
    args = p.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        for r in range(repeat):
            rounds.append(latency_round(Path(tmp) / f"latency-{r}", args.trickle))
            print(f"  round {r + 1}/{repeat}: {rounds[-1]}", file=sys.stderr, flush=True)
        hostile = None if args.skip_hostile else hostile_round(Path(tmp) / "hostile")
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    problems = [f"exit code {r['exit_code']} after SIGTERM" for r in rounds if r["exit_code"] != 0]
    problems += ["the slow feed finished before the alert" for r in rounds if r["slow_feed_done_before_alert"]]
    print(f"Daemon: a fast matching feed beside one trickling a byte every {args.trickle} s (it would take "
          f"{med['slow_feed_total_seconds']:.0f} s; [fetch] total_timeout cuts it at 60 s); median of {repeat}; "
          f"{os.cpu_count()} CPUs\n")
    print("| what | seconds | target |\n| --- | ---: | --- |")
    print(f"| daemon spawn → alert received by the json:// endpoint | {med['spawn_to_alert']:.2f} | within seconds |")
    print(f"| fast feed served → alert received | {med['fast_feed_to_alert']:.2f} | within seconds |")
    print(f"| SIGTERM (slow feed mid-trickle) → daemon exited | {med['sigterm_to_exit']:.2f} | < 5 s, exit 0 |")
    runs = ", ".join(f"{r['spawn_to_alert']:.2f}/{r['sigterm_to_exit']:.2f}" for r in rounds)
    codes = ", ".join(str(r["exit_code"]) for r in rounds)
    print(f"\nruns (spawn → alert / SIGTERM → exit): {runs}; exit codes {codes}")
    if hostile:
        print(f"\nHostile documents: `reader fetch` on a normal feed, a {hostile['sizes']['soup.xml'] / 1e6:.1f} MB "
              f"feed of 700,000 tags and a {hostile['sizes']['title.xml'] / 1e6:.1f} MB title: "
              f"{hostile['wall']:.2f} s wall, exit {hostile['code']}, parse CPU "
              f"{hostile['timings'].get('parse_cpu', 0):.2f} s\n")  # fmt: skip
        print("| feed | status | new | error |\n| --- | --- | ---: | --- |")
        for name, f in hostile["feeds"].items():
            print(f"| {name} | {f['status']} | {f.get('new', 0)} | {(f.get('error') or '')[:120]} |")
        if hostile["code"] != 0 or hostile["feeds"].get("normal.xml", {}).get("status") != "ok":
            problems.append("the normal feed beside the hostile ones was not stored")
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
