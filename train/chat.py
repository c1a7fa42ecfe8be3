"""Conversations as training rows with the loss on every assistant turn and only there.

SmolLM2's chat template has no `{% generation %}` markers (trl's `assistant_only_loss` needs them),
and a prompt-completion row puts the loss on its last answer only. So a conversation is tokenized
here, turn by turn with the tokenizer's own chat template: rendering the turns before an assistant
turn with the generation prompt, then through that turn, the text between the two renderings is what
the template writes for the assistant (its words and end-of-turn marker). Those tokens are marked in
`completion_mask`; everything else (system, user and tool turns, role headers) is not. trl reads a
row that has `input_ids` as already tokenized and builds its labels from `completion_mask`.

    row = conversation_tokens(tokenizer, messages)     # {"input_ids": [...], "completion_mask": [...]}
    rows = tokenized_records(tokenizer, records)       # every SFT record, prompt-completion or messages
"""

from __future__ import annotations


def _render(tokenizer, messages: list[dict], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def conversation_tokens(tokenizer, messages: list[dict]) -> dict:
    """Token ids of a whole conversation and a mask that is 1 exactly on the assistant turns' tokens.

    The conversation is cut into pieces of text at the boundaries of the assistant turns (each piece a
    suffix of one rendering over the previous one) and each piece tokenized alone, so no token spans
    an assistant turn's edge. A template that renders an earlier turn differently once later turns
    follow (one that drops past reasoning, say) cannot be cut this way: that is an error, not a guess."""
    ids: list[int] = []
    mask: list[int] = []
    done = ""
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        head = _render(tokenizer, messages[:i], True)
        through = _render(tokenizer, messages[:i + 1], False)
        if not head.startswith(done) or not through.startswith(head):
            raise ValueError(f"the chat template renders turn {i} differently once later turns follow; its "
                             "assistant tokens cannot be located by rendering prefixes")
        for text, bit in ((head[len(done):], 0), (through[len(head):], 1)):
            piece = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
            ids += piece
            mask += [bit] * len(piece)
        done = through
    full = _render(tokenizer, messages, False)
    if not full.startswith(done):
        raise ValueError("the chat template renders the conversation differently from its prefixes")
    rest = tokenizer(full[len(done):], add_special_tokens=False)["input_ids"] if full[len(done):] else []
    return {"input_ids": ids + rest, "completion_mask": mask + [0] * len(rest)}


def record_messages(record: dict) -> list[dict]:
    """An SFT record's turns: its `messages`, or its prompt then its completion."""
    return record["messages"] if "messages" in record else [*record["prompt"], *record["completion"]]


def tokenized_records(tokenizer, records: list[dict]) -> list[dict]:
    """Every record as `{"id", "input_ids", "completion_mask"}` (one dataset cannot mix tokenized rows
    with rows trl tokenizes; a prompt-completion record gets the same mask trl would give it)."""
    return [{"id": r["id"], **conversation_tokens(tokenizer, record_messages(r))} for r in records]
