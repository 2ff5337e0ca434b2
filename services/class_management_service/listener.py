"""The HTTP listening socket, created apart from the app so it can be shared and fail fast."""

from __future__ import annotations

import socket

from class_management_service.config import Settings


def bind_listener(settings: Settings) -> socket.socket:
    """The listening address, bound before anything else starts so a taken port fails fast.

    Not yet listening: connections are refused (not queued) until the app is ready to serve.
    """
    family = socket.AF_INET6 if ":" in settings.http_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((settings.http_host, settings.http_port))
    except BaseException:
        sock.close()
        raise
    return sock
