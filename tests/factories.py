"""The one factory for test records: `make_example(...)` for an Example with a lineage, and
`make_env(...)` for what a validator is given (a ValidationEnv with a RejectLog)."""

from __future__ import annotations

import json

from seedfactory.schemas import Example, Lineage, RejectLog, Sampling
from seedfactory.schemas.config import ValidateConfig


def make_example(id: str = "e1", instruction: str = "Extract the invoice fields.", *, input: str = "",
                 output=None, prompt_id: str | None = None, seed_ids: tuple[str, ...] = ("s1",),
                 strategy: str = "self_instruct", teacher: str = "fake", scores: dict | None = None) -> Example:
    output = output if output is not None else f"Answer {id}."
    lineage = Lineage(seed_ids=list(seed_ids), strategy=strategy, teacher=teacher, prompt_hash="h",
                      request_key=f"k-{id}", raw=output if isinstance(output, str) else json.dumps(output),
                      sampling=Sampling())
    return Example(id=id, prompt_id=prompt_id or f"p-{id}", instruction=instruction, input=input, output=output,
                   lineage=lineage, scores=scores or {})


def make_env(*, train_seeds=(), heldout=(), output_schema=None, embedder=None, **cfg):
    """A ValidationEnv over a ValidateConfig with `cfg` overrides; `env.reject.records` are the drops."""
    from seedfactory.validators import HashEmbedder, ValidationEnv

    return ValidationEnv(cfg=ValidateConfig(**{"embedder": "hash", **cfg}), reject=RejectLog("validate"),
                         train_seeds=list(train_seeds), heldout=list(heldout), output_schema=output_schema,
                         embedder=embedder or HashEmbedder())
