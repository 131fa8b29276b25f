"""`epam-tui serve [--port 8000] [--host H] [DIR ...]`: the monitor in a web browser (textual-serve).

Each browser tab that opens the page starts its own `epam-tui monitor DIR ...` process, drawn by
xterm.js in the page. The server listens on 127.0.0.1 unless `--host` says otherwise: the TUI can
launch and stop training processes, so a wider bind is an explicit choice and prints a warning.
The websocket that drives the app only accepts pages served by this server (Origin check), so
another site open in the same browser cannot drive it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import sys
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def monitor_argv(dirs: list[str], interval: float | None = None, fake_gpus: int | None = None,
                 python: str = sys.executable) -> list[str]:
    """The argv of the monitor process each browser session runs (absolute DIRs, after `--`)."""
    argv = [python, "-m", "epam_tui.cli", "monitor"]
    if interval is not None:
        argv += ["--interval", str(interval)]
    if fake_gpus:
        argv += ["--fake-gpus", str(int(fake_gpus))]
    return argv + ["--", *(os.path.abspath(d) for d in dirs)]


def served_command(dirs: list[str], interval: float | None = None, fake_gpus: int | None = None,
                   python: str = sys.executable) -> str:
    """The command string textual-serve hands to a shell: every argument quoted by shlex.join."""
    return shlex.join(monitor_argv(dirs, interval, fake_gpus, python))


def is_loopback(host: str) -> bool:
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_origins(public_url: str, host: str, port: int) -> set[str]:
    """Origins whose pages may open the websocket: the public URL's, plus the loopback names on a loopback bind."""
    parts = urlsplit(public_url)
    origins = {f"{parts.scheme}://{parts.netloc}"}
    if is_loopback(host):
        origins |= {f"http://{name}:{port}" for name in LOOPBACK_NAMES}
    return origins


def build_server(command: str, host: str, port: int, public_url: str | None = None):
    """A textual-serve Server whose websocket refuses pages from other origins (403)."""
    from aiohttp import web
    from textual_serve.server import Server

    class OriginCheckedServer(Server):
        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            if origin is not None and origin not in self.origins:
                return web.Response(status=403, text=f"origin {origin} may not drive this app")
            return await super().handle_websocket(request)

    url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    server = OriginCheckedServer(command, host=host, port=port, title="epam-tui", public_url=public_url
                                 or f"http://{url_host}:{port}")
    server.origins = allowed_origins(server.public_url, host, port)
    return server


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam-tui serve", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", default=["work_dirs"], help="run directories or roots (default work_dirs)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to bind (default 127.0.0.1; anything else lets others on the network drive the TUI)")
    parser.add_argument("--public-url", default=None,
                        help="the URL browsers use to reach this server (default http://HOST:PORT; needed behind a proxy or with --host 0.0.0.0)")
    parser.add_argument("--fake-gpus", type=int, default=None, help="show N scripted fake GPUs (demo, no driver)")
    parser.add_argument("--interval", type=float, default=None, help="seconds between reads of the runs (>= 0.2)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"epam-tui serve: --port {args.port} is not a TCP port; pass one in 1..65535", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(f"epam-tui serve: WARNING: listening on {args.host}: anyone who can reach port {args.port} can use the TUI, "
              "which launches and stops processes as you; prefer the default 127.0.0.1 with an SSH tunnel "
              f"(ssh -L {args.port}:127.0.0.1:{args.port} HOST)", file=sys.stderr)
        if args.public_url is None and args.host in ("0.0.0.0", "::"):
            print(f"epam-tui serve: note: pages will connect back to {args.host}; pass --public-url http://THIS-HOST:{args.port} "
                  "for browsers on other machines", file=sys.stderr)
    try:
        server = build_server(served_command(args.dirs, args.interval, args.fake_gpus), args.host, args.port,
                              args.public_url)
    except ImportError as exc:
        print(f"epam-tui serve: {exc}; install it with `pip install 'textual-serve>=1.1.3,<1.2'`", file=sys.stderr)
        return 2
    try:
        server.serve()
    except OSError as exc:
        print(f"epam-tui serve: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
              "pick another with --port or --host", file=sys.stderr)
        return 1
    return 0
