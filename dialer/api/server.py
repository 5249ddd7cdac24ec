"""Serve the control API with uvicorn inside the dialer's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from dialer.campaign.config import CampaignConfigError


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the dialer decides what a signal means."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ApiServer:
    """The API on ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    def bind(self) -> None:
        """Take the port now, before anything else starts; a clear error if it is taken."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise CampaignConfigError(
                "http.port", f"cannot serve the API on {self.host}:{self.port}: {exc.strerror}"
            ) from None
        self._socket = sock

    async def start(self, app: FastAPI) -> None:
        """Serve ``app`` (binding first if ``bind`` was not called); returns once it listens."""
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            proxy_headers=True,  # a TLS proxy on this host says the request came over https
            forwarded_allow_ips="127.0.0.1,::1",
        )
        self._server = server = _Server(config)
        self._task = asyncio.create_task(server.serve(sockets=[self._socket]), name="api")
        while not server.started:
            if self._task.done():
                await self._task  # raises what stopped it
                raise RuntimeError("the API server stopped while starting")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Stop serving (if it started) and let the port go."""
        if self._task is not None and self._server is not None:
            self._server.should_exit = True
            await self._task
            self._task = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
