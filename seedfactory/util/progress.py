"""The one progress type: `Progress(enabled)` wraps an iterable in a tqdm bar on stderr, or does
nothing when disabled. Code that drives a library with its own bar (vLLM, trl) reads `.enabled`.

    progress = Progress(enabled=True)
    for batch in progress(batches, desc="judge: rubric"):
        ...
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


class Progress:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def __call__(self, iterable: Iterable[T], *, total: int | None = None, desc: str = "") -> Iterable[T]:
        if not self.enabled:
            return iterable
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, file=sys.stderr, dynamic_ncols=True, leave=False)


NO_PROGRESS = Progress(enabled=False)
