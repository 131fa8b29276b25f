"""Which rendezvous port may a single-node launch take: free now and held by no live run of ours."""

from __future__ import annotations

import socket
from typing import Iterable

from epam_tui.core.launch.errors import LaunchError

PORT_RANGE = (29500, 30500)  # below Linux's ephemeral range, so an outgoing socket will not take it


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be bound on ``host`` now (nothing listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(reserved: Iterable[int] = (), start: int = PORT_RANGE[0], stop: int = PORT_RANGE[1]) -> int:
    """The first port in [start, stop) that no live run of ours holds and nothing listens on."""
    taken = {int(p) for p in reserved if p}
    for port in range(start, stop):
        if port not in taken and port_free(port):
            return port
    raise LaunchError(f"no free port in {start}-{stop - 1}; stop some runs or free a port")
