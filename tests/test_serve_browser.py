"""`epam-tui serve`: the command it serves stays inert, it binds loopback by default, and the monitor
works in a real headless browser (Debian's chromium driven by playwright; skipped when either is absent).

Set EPAM_TUI_SCREENSHOT=docs/browser.png to refresh the screenshot in the docs from the browser test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, poll_until

pytest.importorskip("textual_serve", reason="textual-serve is not installed (pip install -e '.[test]')")

from epam_tui.commands import serve  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FIXTURE_RUNS = ROOT / "tests" / "tui" / "fixtures" / "runs"
RUNS = ("demo-finished", "demo-running")  # the runs in FIXTURE_RUNS
HOSTILE = "runs $(touch pwned) `touch pwned2` 'q\" ;touch pwned3"
# textual.js keeps its terminal in a closure; this exposes it so the test reads xterm.js's own buffer
TERMINAL_HOOK = (re.compile(r"(\w)\.fit\(\),(\w)\|\|\1\.connect\(\)"), r"window.__epamTerm=\1,\1.fit(),\2||\1.connect()")
SCREEN_TEXT_JS = """() => { const b = window.__epamTerm.terminal.buffer.active, out = [];
  for (let i = 0; i < b.length; i++) { const l = b.getLine(i); if (l) out.push(l.translateToString(true)); }
  return out.join('\\n'); }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_served_command_keeps_hostile_dir_inert(tmp_path: Path) -> None:
    # textual-serve runs its command through /bin/sh: the shell must get back exactly our argv
    stub = tmp_path / "fake python"
    stub.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    stub.chmod(0o755)
    cmd = serve.served_command([HOSTILE, "-rf"], interval=0.5, python=str(stub))
    out = subprocess.run(["/bin/sh", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["-m", "epam_tui.cli", "monitor", "--interval", "0.5", "--",
                                      os.path.abspath(HOSTILE), os.path.abspath("-rf")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake python"]  # no pwned files


def test_serve_binds_loopback_by_default_and_warns_elsewhere(monkeypatch, capsys) -> None:
    seen = []

    class Stub:
        def serve(self) -> None:
            pass

    monkeypatch.setattr(serve, "build_server", lambda command, host, port, url: seen.append((host, port)) or Stub())
    assert serve.main(["some dir"]) == 0
    assert seen[-1] == ("127.0.0.1", 8000) and "WARNING" not in capsys.readouterr().err
    assert serve.main(["--host", "0.0.0.0", "--port", "8123"]) == 0
    assert seen[-1] == ("0.0.0.0", 8123) and "WARNING: listening on 0.0.0.0" in capsys.readouterr().err
    assert serve.main(["--port", "70000"]) == 2 and len(seen) == 2


def test_origins_allowed_on_loopback_only_for_this_server() -> None:
    allowed = serve.allowed_origins("http://127.0.0.1:8000", "127.0.0.1", 8000)
    assert {"http://127.0.0.1:8000", "http://localhost:8000"} <= allowed
    assert "http://evil.example:8000" not in allowed and "http://localhost:9000" not in allowed
    assert serve.allowed_origins("https://box.lan", "0.0.0.0", 8000) == {"https://box.lan"}


def test_serve_never_imports_torch() -> None:
    code = ("import sys\nfrom epam_tui.commands import serve\n"
            "s = serve.build_server(serve.served_command(['runs']), '127.0.0.1', 8000)\n"
            "print('torch' in sys.modules, sorted(s.origins)[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "http://127.0.0.1:8000"]


@pytest.fixture
def served(tmp_path: Path):
    """`epam-tui serve` on a free port over a copy of the fixture runs in a hostile directory name."""
    runs = tmp_path / HOSTILE
    shutil.copytree(FIXTURE_RUNS, runs)
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "epam_tui.cli", "serve", "--port", str(port), HOSTILE],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        if not poll_until(lambda: listening() or proc.poll() is not None, 60, 0.2) or proc.poll() is not None:
            pytest.fail(f"epam-tui serve did not start: {(tmp_path / 'serve.log').read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the server and the monitor sessions it started
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=20)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        proc.wait()
        log.close()


def test_websocket_refuses_pages_from_other_origins(served) -> None:
    import asyncio

    import aiohttp

    url, _ = served

    async def status(origin: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(f"{url}/ws", headers={"Origin": origin}):
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    assert asyncio.run(status("http://evil.example")) == 403


def test_monitor_in_headless_chromium(served) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    url, tmp_path = served
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            hooked = []

            def hook(route) -> None:
                response = route.fetch()
                body, n = TERMINAL_HOOK[0].subn(TERMINAL_HOOK[1], response.text())
                hooked.append(n)
                route.fulfill(response=response, body=body)

            page.route("**/static/js/textual.js", hook)
            page.route(re.compile(r"^(?!" + re.escape(url) + r").*"), lambda route: route.abort())  # no network
            page.goto(url + "/", wait_until="domcontentloaded")
            page.wait_for_function("() => !!window.__epamTerm", timeout=60_000)
            assert hooked == [1], "textual.js changed: the terminal hook did not apply; update TERMINAL_HOOK"

            def screen() -> str:
                return page.evaluate(SCREEN_TEXT_JS)

            def screen_when(ready) -> str | None:
                text = screen()
                return text if ready(text) else None

            def selected(text: str) -> list[str]:  # the selected run's name is in the table and in the log title
                return [name for name in RUNS if text.count(name) >= 2]

            # the run table with one run selected (its log shown): the app is up and takes keys
            before = poll_until(lambda: screen_when(lambda s: all(n in s for n in RUNS) and len(selected(s)) == 1), 90, 0.3)
            assert before, f"no run table with a selected run in the browser:\n{screen()}"
            assert not any((tmp_path / name).exists() for name in ("pwned", "pwned2", "pwned3"))
            shot_before = page.screenshot()
            [was] = selected(before)
            [other] = [name for name in RUNS if name != was]
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("ArrowDown" if before.index(other) > before.index(was) else "ArrowUp")
            after = poll_until(lambda: screen_when(lambda s: selected(s) == [other]), 60, 0.3)
            assert after, f"the arrow key did not select {other}:\n{screen()}"
            assert page.screenshot() != shot_before
            if os.environ.get("EPAM_TUI_SCREENSHOT"):  # for the docs: the finished run, charts settled
                if selected(screen()) != ["demo-finished"]:
                    page.keyboard.press("ArrowDown" if before.index("demo-finished") > before.index(other) else "ArrowUp")
                page.wait_for_timeout(3000)
                page.screenshot(path=os.environ["EPAM_TUI_SCREENSHOT"])
        finally:
            browser.close()
