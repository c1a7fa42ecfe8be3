"""Padding-free forwards under trl's fused LM head: the log-probs trl asks for, without computing
padding, and with the LM head run only on the tokens that have a label.

trl 1.16 patches the model's forward (`trl.trainer.utils.add_fused_lm_head`) so that
`model(..., labels=..., fused_lm_head=True)` returns per-token log-probs. Two costs remain on a CPU:
- DPO (`DPOTrainer._compute_loss`, its reference forward too) runs each batch as 2B rows,
  [chosen; rejected], right-padded to the longest; `DPOConfig(padding_free=True)` is disabled in trl 1.16.
- The fused head scores only the labelled positions on Triton devices; elsewhere it projects every
  position onto the whole vocabulary (prompt tokens and padding included) and masks afterwards.

`pack_fused_forward(model)` replaces that patched forward, once the trainer has built it, by one that
1. packs a padded batch [N, L] into one row [1, T] of its real tokens, with position_ids restarting
   at each row (and `cu_seq_lens_*`), from which transformers masks attention block-diagonally, as
   the padding-free SFT collator relies on; a row's first token gets no label (it would be predicted
   from the previous row);
2. runs trl's own kernel (`trl.kernels.ChunkedLogProbFunction`, with the settings trl gave its head)
   on the labelled positions only;
3. scatters the values back to the [N, L-1] layout trl expects, zero where the label is -100.
The per-sequence log-prob sums equal the padded path's (tests/test_train_unit.py checks it in
float32 on a tiny model). Calls it cannot serve exactly (no labels, `shift_labels`, embeddings
instead of ids, left padding, MoE router losses, a scaled head) go to trl's forward unchanged.

    trainer = DPOTrainer(...); pack_fused_forward(trainer.model); trainer.train()
"""

from __future__ import annotations

import inspect
import types


def _trl_head_settings(trl_forward) -> dict | None:
    """What trl's `add_fused_lm_head` closed over (outputs, temperature, ...), or None when its
    forward is not the one this module knows."""
    fn = getattr(trl_forward, "__func__", None)
    if fn is None or fn.__code__.co_name != "_fused_forward":  # functools.wraps renamed it "forward"
        return None
    found = inspect.getclosurevars(fn).nonlocals
    need = ("outputs", "temperature", "cast_lm_head_to_fp32", "final_logit_softcapping", "logit_scale",
            "backbone_attr", "text_config")
    return {k: found[k] for k in need} if all(k in found for k in need) else None


def pack_rows(input_ids, attention_mask, labels) -> dict | None:
    """A right-padded batch as one packed row: input_ids, position_ids, labels (a row's first token
    unlabelled) and the `cu_seq_lens_*` / `max_length_*` that varlen attention reads. None when a
    row is left-padded (a 0 before a 1 in its mask), which this layout does not reproduce."""
    import torch

    keep = attention_mask.bool()
    if (keep[:, 1:] & ~keep[:, :-1]).any():
        return None
    lengths = keep.sum(1)
    starts = torch.cumsum(lengths, 0) - lengths
    position_ids = torch.arange(int(lengths.sum()), device=input_ids.device) - starts.repeat_interleave(lengths)
    flat_labels = labels[keep]
    flat_labels = flat_labels.masked_fill(position_ids == 0, -100)
    cu = torch.cat([starts, lengths.sum().reshape(1)]).to(torch.int32)
    longest = int(lengths.max())
    return {"input_ids": input_ids[keep][None], "position_ids": position_ids[None], "labels": flat_labels[None],
            "cu_seq_lens_q": cu, "cu_seq_lens_k": cu, "max_length_q": longest, "max_length_k": longest}


def pack_fused_forward(model) -> bool:
    """Replace trl's fused forward of `model` (a PeftModel or a plain causal LM the trainer patched)
    by the packed, labelled-positions-only one. Returns False (and changes nothing) when the
    model's forward is not trl's fused one or its head is one this path does not reproduce."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    trl_forward = base.forward
    settings = _trl_head_settings(trl_forward)
    if settings is None or settings["logit_scale"] != 1.0 or settings["cast_lm_head_to_fp32"]:
        return False
    if getattr(settings["text_config"], "output_router_logits", False):
        return False

    def forward(self, *args, fused_lm_head=False, labels=None, shift_labels=None, num_items_in_batch=None,
                **kwargs):
        ids = kwargs.get("input_ids")
        if (not fused_lm_head or args or labels is None or shift_labels is not None or ids is None
                or kwargs.get("inputs_embeds") is not None or kwargs.get("output_router_logits")):
            return trl_forward(*args, fused_lm_head=fused_lm_head, labels=labels, shift_labels=shift_labels,
                               num_items_in_batch=num_items_in_batch, **kwargs)
        return _packed_forward(self, settings, labels, num_items_in_batch, kwargs)

    base.forward = types.MethodType(forward, base)
    return True


def _packed_forward(model, settings: dict, labels, num_items_in_batch, kwargs: dict):
    from trl.kernels import ChunkedLogProbFunction
    from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE, FusedCausalLMOutput

    kwargs["use_cache"] = False
    mask = kwargs.get("attention_mask")
    padded_labels = labels if mask is None else labels.masked_fill(mask == 0, -100)
    flat_labels = padded_labels
    if mask is not None and kwargs.get("position_ids") is None and labels.size(0) > 1:
        packed = pack_rows(kwargs["input_ids"], mask, padded_labels)
        if packed is not None:
            flat_labels = packed.pop("labels")
            kwargs = {**kwargs, **packed, "attention_mask": None}
    hidden = getattr(model, settings["backbone_attr"])(**kwargs).last_hidden_state[:, :-1]
    flat_mask = flat_labels[:, 1:] != -100
    lm_head = model.get_output_embeddings()
    per_token = ChunkedLogProbFunction.apply(
        hidden[flat_mask].to(lm_head.weight.device), lm_head.weight, lm_head.bias,
        flat_labels[:, 1:][flat_mask].to(lm_head.weight.device), settings["temperature"],
        _CHUNKED_LOGPROB_CHUNK_SIZE, settings["final_logit_softcapping"], 1.0, settings["outputs"])
    # The labelled positions come in the same (row-major) order in the packed row as in the padded
    # batch, so they scatter straight into the padded layout; masked_scatter keeps the graph.
    out_mask = padded_labels[:, 1:] != -100
    log_probs, entropy, log_sum_sq_probs, mean_logits, is_top1 = (
        None if x is None else x.new_zeros(out_mask.shape).masked_scatter(out_mask, x) for x in per_token)
    count = out_mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return FusedCausalLMOutput(loss=-log_probs.sum() / count, log_probs=log_probs, entropy=entropy,
                               log_sum_sq_probs=log_sum_sq_probs, mean_logits=mean_logits, is_top1=is_top1,
                               label_mask=out_mask, aux_loss=None)
