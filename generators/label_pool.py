"""Label the user's own inputs: each pool input (generators/pool.py) becomes a task that the teacher
answers `generate.responses_per_prompt` times under the seed set's schema (generators/answers.py),
few-shot with seeds; the shared checks decide what is kept: schema and field kinds, grounding of each
value in the input, the label check, and consensus over the answers (judges/select.py). A pool input
whose answers disagree is queued first for human review (review/sample.py `uncertainty_first`).

Real inputs bring the variety a small teacher cannot invent; the teacher only has to read them.

Task i is pool input i whatever the task count (prefix-stable, so a dry run's sample is the real
run's start); its instruction and shots are drawn from the seeds by the input's id. Every row keeps
the input's source (file, page or row, character span) in `lineage.source`.

    drafts = write_tasks(seeds, Plan("label_pool", 64), env)    # env.pool: the ingested PoolItems
"""

from __future__ import annotations

import random

from seedfactory.generators.plan import Env, Plan, TaskDraft
from seedfactory.schemas import Example, SeedExample, stable_hash
from seedfactory.schemas.config import ModelConfig

STRATEGY = "label_pool"
USES_PERSONAS = False  # the inputs are the user's own


def pool_task(item, seeds: list[SeedExample], shots: int, seed: int) -> TaskDraft:
    rng = random.Random(f"{seed}:pool:{item.id}")
    chosen = rng.sample(seeds, min(shots, len(seeds)))
    instruction = chosen[0].instruction
    source = {"file": item.file, "page": item.page, "row": item.row, "start": item.start, "end": item.end,
              "pool_id": item.id}
    return TaskDraft(prompt_id=stable_hash([instruction.strip(), item.text]), instruction=instruction,
                     input=item.text, seed_ids=[s.id for s in chosen], request_key=f"pool:{item.id}", raw="",
                     strategy=STRATEGY, source={k: v for k, v in source.items() if v is not None})


def write_tasks(seeds: list[SeedExample], plan: Plan, env: Env) -> list[TaskDraft]:
    """The strategy's entry point (generators/plan.py): the first `plan.tasks` pool inputs as tasks."""
    if not env.pool:
        raise ValueError("generate.strategy label_pool needs pool inputs: set seeds.pool to a file, folder or glob "
                         "(and check the pool stage's stats: every file may have been skipped)")
    items = env.pool[: plan.tasks]
    env.notes["pool_inputs_labelled"] = len(items)
    env.notes["pool_inputs_left"] = len(env.pool) - len(items)
    return [pool_task(it, seeds, env.cfg.shots, env.seed) for it in items]


def uncertainty(rows: list[Example]) -> list[Example]:
    """One row per pool task whose answers did not all agree, least agreement first (then by id)."""
    best: dict[str, Example] = {}
    for r in rows:
        if r.lineage.strategy != STRATEGY or r.scores.get("consensus", 1.0) >= 1.0:
            continue
        held = best.get(r.prompt_id)
        if held is None or (r.scores["consensus"], r.id) > (held.scores["consensus"], held.id):
            best[r.prompt_id] = r  # the task's most agreed-with answer is the one a reviewer checks
    return sorted(best.values(), key=lambda r: (r.scores["consensus"], r.id))


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def is_remote(model: ModelConfig) -> bool:
    """Whether requests to this model leave the machine (an openai backend at a non-local host)."""
    from urllib.parse import urlparse

    if model.backend != "openai":
        return False  # the in-process engine and the fakes
    urls = model.base_url if isinstance(model.base_url, list) else [model.base_url]
    hosts = [urlparse(u).hostname if u else "api.openai.com" for u in urls]
    return any(h not in LOCAL_HOSTS and not (h or "").startswith("127.") for h in hosts)


def allowed(model: ModelConfig) -> bool:
    return model.allow_remote_pool


def remote_pool_refusal(models: dict[str, ModelConfig]) -> str | None:
    """Why pool inputs may not be sent, naming the key to set; None when every model may get them."""
    for key, model in models.items():
        if is_remote(model) and not allowed(model):
            return (f"{key} is remote ({model.base_url or 'the OpenAI API'}) and the pool's inputs are the user's own "
                    f"data: set {key}.allow_remote_pool=true to send them, or use a local model")
    return None
