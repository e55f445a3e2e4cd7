"""``GET /containerLogs/{namespace}/{pod}/{container}``: a container's log as plain text.

The query is a ``v1.PodLogOptions`` (``follow``, ``previous``, ``timestamps``,
``tailLines``, ``sinceSeconds``, ``sinceTime``, ``limitBytes``, and the old ``tail``),
decoded and checked as the kubelet does: 400 ``{"message": "Unable to decode query."}``
for a value of the wrong type, 422 ``{"message": "Invalid request."}`` for one out of range.
With ``follow`` the response streams what the container writes until it stops running, or
the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from pilothouse.runtime.interface import ContainerState, ContainerStatus, RuntimeService
from pilothouse.runtime.logs import LogOptions, parse_timestamp, read_logs

from .targets import TargetError

STATUS_POLL_INTERVAL = 1.0  # how often a followed container is checked for having stopped


@dataclass(frozen=True)
class LogRequest:
    """What a log request asks for: which instance of the container, and how to read it."""

    previous: bool
    options: LogOptions

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> LogRequest:
        try:
            request = cls._decode(query)
        except ValueError:
            raise TargetError(400, '{"message": "Unable to decode query."}') from None
        options = request.options
        invalid = (
            (options.tail_lines is not None and options.tail_lines < 0)
            or (options.limit_bytes is not None and options.limit_bytes < 1)
            or ("sinceSeconds" in query and "sinceTime" in query)
            or ("sinceSeconds" in query and int(query["sinceSeconds"]) < 1)
        )
        if invalid:
            raise TargetError(422, '{"message": "Invalid request."}')
        return request

    @classmethod
    def _decode(cls, query: Mapping[str, str]) -> LogRequest:
        tail = query.get("tailLines")
        if "tail" in query:  # the kubelet's backwards-compatible spelling; "all" is no limit
            tail = None if query["tail"] == "all" else query["tail"]
        since_ns = None
        if "sinceSeconds" in query:
            since_ns = time.time_ns() - int(query["sinceSeconds"]) * 1_000_000_000
        elif "sinceTime" in query:
            since_ns = int(datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00")).timestamp()) * 1_000_000_000
        options = LogOptions(
            follow=_flag(query, "follow"),
            tail_lines=int(tail) if tail is not None else None,
            since_ns=since_ns,
            timestamps=_flag(query, "timestamps"),
            limit_bytes=int(query["limitBytes"]) if "limitBytes" in query else None,
        )
        return cls(previous=_flag(query, "previous"), options=options)


def _flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter as Kubernetes decodes one: absent, "0" and "false" are false,
    anything else (even empty) is true."""
    if name not in query:
        return False
    return query[name] != "0" and query[name].lower() != "false"


class _RunningWatch:
    """Whether a container still runs, checked in the background (read_logs asks often)."""

    def __init__(self, runtime: RuntimeService, container_id: str, *, running: bool):
        self.runtime = runtime
        self.container_id = container_id
        self.running = running
        self._task = asyncio.ensure_future(self._poll()) if running else None

    async def _poll(self) -> None:
        while self.running:
            await asyncio.sleep(STATUS_POLL_INTERVAL)
            try:
                status = await self.runtime.container_status(self.container_id)
            except Exception:  # removed, or the runtime failed: the log will not grow
                self.running = False
                return
            self.running = status.state == ContainerState.RUNNING

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _lines(path: Path, options: LogOptions, running: Callable[[], bool]) -> AsyncIterator[bytes]:
    """The log as the kubelet prints it: timestamps (when asked for) in UTC with nanoseconds,
    ``2006-01-02T15:04:05.000000000Z`` (monitors may write them with other offsets)."""
    if not options.timestamps:
        async for _stream, data in read_logs(path, options, running=running):
            yield data
        return
    budget = options.limit_bytes
    async for _stream, data in read_logs(path, replace(options, limit_bytes=None), running=running):
        stamp, _, line = data.partition(b" ")
        data = _kubelet_timestamp(parse_timestamp(stamp.decode())) + b" " + line
        if budget is not None:
            data, budget = data[:budget], budget - len(data[:budget])
        if data:
            yield data
        if budget is not None and budget <= 0:
            return


def _kubelet_timestamp(time_ns: int) -> bytes:
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return b"%s.%09dZ" % (datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S").encode(), nanos)


async def serve_logs(
    request: web.Request, runtime: RuntimeService, source: ContainerStatus, log_request: LogRequest
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    options = log_request.options
    watch = _RunningWatch(runtime, source.id, running=options.follow and source.state == ContainerState.RUNNING)

    def following() -> bool:
        transport = request.transport
        return watch.running and transport is not None and not transport.is_closing()

    try:
        async for data in _lines(Path(source.log_path), options, following):
            await response.write(data)
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away
    finally:
        await watch.stop()
    return response
