"""The one model Protocol every teacher and judge backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from seedfactory.schemas import GenerationRequest, GenerationResult


@runtime_checkable
class Backend(Protocol):
    """Sends chat requests, returns one result per request, in order.

    A request that could not be answered after retries comes back with `error` set and empty
    text (quarantined), never as an exception that loses the rest of the batch.

    `on_result(i, result)`, when given, is called as request i settles (the cache stores it then);
    a backend that answers a batch at once may call it at the end, or leave it to the caller. If it
    returns True the backend sends nothing more; requests not sent come back with an error that
    starts with "not sent".
    """

    name: str

    def generate(self, requests: list[GenerationRequest], on_result=None) -> list[GenerationResult]: ...

    def close(self) -> None: ...
