"""The one model Protocol every teacher and judge backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from seedfactory.schemas import GenerationRequest, GenerationResult


@runtime_checkable
class Backend(Protocol):
    """Sends chat requests, returns one result per request, in order.

    A request that could not be answered after retries comes back with `error` set and empty
    text (quarantined), never as an exception that loses the rest of the batch.
    """

    name: str

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]: ...

    def close(self) -> None: ...
