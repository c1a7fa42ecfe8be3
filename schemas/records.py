"""Records passed between stages.

Every record is a strict pydantic model (unknown fields are errors). Model I/O travels with
the record: a generated example keeps the rendered prompt hash, the raw completion, the model
id and the sampling parameters in its lineage, so any row can be traced back to the request
that made it and a parse failure is a reject that still carries the raw text.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Output = str | dict[str, Any]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def stable_hash(obj: Any, n: int = 16) -> str:
    """Content hash of any JSON-able object: same content, same id, on any machine."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


def output_text(output: Output) -> str:
    """The text a student is trained to write for an output: JSON objects in compact key order."""
    return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)


def render_prompt(instruction: str, input: str = "") -> str:
    """The user turn shown to a student (and to the teacher when it answers a task)."""
    return f"{instruction.strip()}\n\n{input.strip()}" if input.strip() else instruction.strip()


class Message(Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class Turn(Strict):
    """One turn of a conversation seed (OpenAI / HF chat format): system, user, assistant (text or
    `tool_calls`) or tool (a tool's result, `tool_call_id` naming the call). The turns before a seed's
    last user turn are its `history`; none is dropped."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = ""
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _text_or_calls(self) -> "Turn":
        if self.tool_calls is not None and self.role != "assistant":
            raise ValueError(f"a {self.role} turn carries no tool_calls (only an assistant turn calls tools)")
        if self.content is None and self.tool_calls is None:
            raise ValueError("a turn needs content (or, for an assistant, tool_calls)")
        return self

    def text(self) -> str:
        """What the student reads or writes for this turn: its content, or its calls as compact JSON
        (the same form as a tool-call output, `calls_output`)."""
        if self.tool_calls is not None:
            return output_text(calls_output(self.tool_calls))
        return self.content or ""


def calls_output(tool_calls: list[dict]) -> dict:
    """OpenAI-format calls (`{"type": "function", "function": {"name", "arguments": "<json>"}}`) or plain
    `{"name", "arguments"}` ones, as the output object `{"tool_calls": [{"name", "arguments": {...}}]}`."""
    calls = []
    for c in tool_calls:
        fn = c.get("function", c) if isinstance(c, dict) else c
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise ValueError(f"a tool call names its function: {c!r}")
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as e:
                raise ValueError(f"tool call {fn['name']!r}: arguments are not JSON ({e.msg})") from None
        if not isinstance(args, dict):
            raise ValueError(f"tool call {fn['name']!r}: arguments are an object")
        calls.append({"name": fn["name"], "arguments": args})
    return {"tool_calls": calls}


def conversation_text(history: "list[Turn]", prompt: str) -> str:
    """What a judge reads as the task: the user turn, after a conversation's earlier turns where it has them."""
    if not history:
        return prompt
    turns = "\n".join(f"[{t.role}] {t.text()}" for t in history if t.role != "system")
    return f"Conversation so far:\n{turns}\n\nLast user turn (the response answers this one):\n{prompt}"


def student_turns(history: "list[Turn]", prompt: str) -> list[dict]:
    """The conversation a student reads before it answers: the earlier turns as role/content (calls as
    JSON, tool results as tool turns), then the last user turn."""
    return [{"role": t.role, "content": t.text()} for t in history] + [{"role": "user", "content": prompt}]


class SeedExample(Strict):
    """One hand-written example. On disk either instruction/input/output or chat `messages`."""

    id: str = Field(min_length=1)
    instruction: str = Field(min_length=1)
    input: str = ""
    output: Output
    topic: str | None = None
    source: str | None = Field(default=None, description="file:line the seed was read from")
    history: list[Turn] = Field(default_factory=list, description="a conversation's turns before its last user turn")

    @model_validator(mode="before")
    @classmethod
    def _from_messages(cls, data: Any) -> Any:
        # A chat seed kept whole: the turns before the last user turn are its history, the last user
        # turn the instruction, the final assistant turn (text, or tool calls) the output.
        if isinstance(data, dict) and "messages" in data:
            data = dict(data)
            raw = data.pop("messages")
            if not isinstance(raw, list):
                raise ValueError("messages is a list of turns")
            turns = []
            for i, m in enumerate(raw):
                try:
                    turns.append(Turn.model_validate(m))
                except ValidationError as e:
                    err = e.errors()[0]
                    where = "".join(f".{p}" for p in err["loc"])
                    raise ValueError(f"messages[{i}]{where}: {err['msg'].removeprefix('Value error, ')}") from None
            if len(turns) < 2 or turns[-1].role != "assistant" or turns[-2].role != "user":
                raise ValueError("messages must end with a user turn followed by an assistant turn")
            last = turns[-1]
            data.setdefault("instruction", turns[-2].content or "")
            data.setdefault("output", calls_output(last.tool_calls) if last.tool_calls is not None
                            else last.content or "")
            data.setdefault("history", turns[:-2])
        return data

    @property
    def prompt(self) -> str:
        return render_prompt(self.instruction, self.input)

    @property
    def student_prompt(self) -> str | list[dict]:
        """What the student is asked: the user turn, or with a history the whole conversation so far."""
        return student_turns(self.history, self.prompt) if self.history else self.prompt


class Sampling(Strict):
    temperature: float = Field(0.8, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    max_tokens: int = Field(256, gt=0)
    seed: int | None = None


class GenerationRequest(Strict):
    """One chat request to a teacher or judge. `key` is its content address in the cache."""

    model: str
    messages: list[Message]
    sampling: Sampling = Sampling()
    response_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema the reply must follow (structured output)"
    )
    top_logprobs: int | None = Field(
        default=None, ge=1, le=20, description="return this many alternatives per generated token")
    purpose: str = Field("", description="what the request is for (task, response, judge); not hashed")

    @property
    def key(self) -> str:
        return stable_hash(
            [self.model, [m.model_dump() for m in self.messages], self.sampling.model_dump(),
             self.response_schema, self.top_logprobs], n=32)

    @property
    def prompt_hash(self) -> str:
        return stable_hash([m.model_dump() for m in self.messages])


class TokenLogprobs(Strict):
    """One generated token and the log-probabilities of its top alternatives (itself included)."""

    token: str
    top: dict[str, float]


class GenerationResult(Strict):
    request_key: str
    model: str
    text: str = ""
    prompt_hash: str
    sampling: Sampling
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    logprobs: list[TokenLogprobs] | None = Field(default=None, description="per token, when top_logprobs was asked")
    error: str | None = Field(default=None, description="set when the backend gave no usable reply")
    cached: bool = False
    seconds: float = 0.0
    attempts: int = Field(default=1, description="requests sent for this reply, retries included; "
                          "their tokens are summed above")
    server: str | None = Field(default=None, description="the server that answered (openai backend)")


class Lineage(Strict):
    seed_ids: list[str]
    strategy: str
    teacher: str
    prompt_hash: str
    request_key: str
    raw: str = Field(description="the raw completion the row was parsed from")
    sampling: Sampling
    task_request_key: str | None = Field(default=None, description="request that wrote the task")
    label: Literal["teacher", "target"] = Field(
        "teacher", description="who wrote the output: the teacher answering, or the target the input was written for")
    original_output: Output | None = Field(default=None, description="the output before a reviewer edited it")
    topic: str | None = Field(default=None, description="the topic stratum the task was written for")
    persona: str | None = Field(default=None, description="the persona the task was written by or for")
    source: dict | None = Field(default=None, description="label_pool, document_qa: the pool input's file, page or "
                                                          "row and character span")


class Example(Strict):
    """A candidate training example. Rows answering the same prompt share `prompt_id`."""

    id: str
    prompt_id: str
    instruction: str = Field(min_length=1)
    input: str = ""
    output: Output
    lineage: Lineage
    scores: dict[str, float] = {}
    history: list[Turn] = Field(default_factory=list, description="the conversation's turns before the last user turn")

    @property
    def prompt(self) -> str:
        return render_prompt(self.instruction, self.input)

    @property
    def student_prompt(self) -> str | list[dict]:
        """The user turn, or with a history the whole conversation so far (what the student answers)."""
        return student_turns(self.history, self.prompt) if self.history else self.prompt

    @property
    def output_text(self) -> str:
        return output_text(self.output)


STRATA = ("strategy", "topic", "persona")


def lineage_counts(rows: "list[Example]") -> dict[str, dict[str, int]]:
    """Rows per strategy, topic and persona of their lineage (`(none)` where unset), most first:
    what each stage's stats report as its share of kept rows."""
    out: dict[str, dict[str, int]] = {}
    for dim in STRATA:
        counts: dict[str, int] = {}
        for r in rows:
            key = getattr(r.lineage, dim) or "(none)"
            counts[key] = counts.get(key, 0) + 1
        out[dim] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


class JudgeVerdict(Strict):
    """A judge's reading of one row (rubric) or of two rows (pairwise, a against b)."""

    kind: Literal["rubric", "pairwise"]
    example_id: str
    other_id: str | None = None
    score: float | None = None
    winner: Literal["a", "b", "tie"] | None = None
    rationale: str = ""
    judge_model: str
    raw: str = ""
    error: str | None = None
    request_keys: list[str] = []
    # set when the grader check (judges/addressed.py) found text addressed to the grader: the
    # reason string; the score is then the rubric's worst and the judge was not asked
    flag: str | None = None

    @model_validator(mode="after")
    def _error_or_value(self) -> "JudgeVerdict":
        # A parse failure is an error, never a score.
        has_value = self.score is not None or self.winner is not None
        if self.error is None and not has_value:
            raise ValueError("a verdict without an error needs a score or a winner")
        if self.error is not None and has_value:
            raise ValueError("a verdict with an error carries no score or winner")
        return self


class PreferencePair(Strict):
    id: str
    prompt_id: str
    prompt: str
    chosen: str
    rejected: str
    chosen_id: str
    rejected_id: str
    margin: float
    source: Literal["target", "panel", "judge_pairwise", "review", "minimal_edit"]
    history: list[Turn] = Field(default_factory=list, description="a conversation's turns before the prompt")


class Reject(Strict):
    """A dropped row, with why. Duplicates name the kept row and the similarity."""

    row_id: str
    stage: str
    reason: str
    score: float | None = None
    dup_of: str | None = None
    similarity: float | None = None
    detail: str | None = None
    row: dict[str, Any] | None = None


class RejectLog:
    """The one way to record a dropped row: `rejects(row, reason, detail=..., ...)`.

    `row` is the Example (kept whole in the record) or, where no row was made (a task that did
    not parse), the id of what was dropped. Every stage gets one; the runner writes `records`
    to the stage's rejects.jsonl and `counts` to its stats.
    """

    def __init__(self, stage: str = ""):
        self.stage = stage
        self.records: list[Reject] = []

    def __call__(self, row: "Example | str", reason: str, *, score: float | None = None,
                 dup_of: str | None = None, similarity: float | None = None,
                 detail: str | None = None) -> None:
        is_row = isinstance(row, Example)
        self.records.append(Reject(
            row_id=row.id if is_row else row, stage=self.stage, reason=reason, score=score, dup_of=dup_of,
            similarity=similarity, detail=detail, row=row.model_dump(mode="json") if is_row else None))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.reason] = out.get(r.reason, 0) + 1
        return out

    def ids(self) -> set[str]:
        return {r.row_id for r in self.records}
