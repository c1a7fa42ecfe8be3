"""Padding-free forwards under trl's fused LM head: the log-probs trl asks for, without computing
padding, and the LM head only on the tokens that have a label.

trl 1.16 patches the model's forward (`trl.trainer.utils.add_fused_lm_head`) so that
`model(..., labels=..., fused_lm_head=True)` returns per-token log-probs. Three costs remain on a CPU:
- DPO (`DPOTrainer._compute_loss`, its reference forward too) runs each batch as 2B rows,
  [chosen; rejected], right-padded to the longest; `DPOConfig(padding_free=True)` is disabled in trl 1.16.
- The fused head scores only the labelled positions on Triton devices; elsewhere it projects every
  position (prompt tokens and padding included) onto the whole vocabulary and masks afterwards, in
  vocabulary tiles whose backward re-projects in float32.
- Packed rows get one [T, T] block-diagonal mask, and masked sdpa computes all of it.

`pack_fused_forward(model)` replaces that patched forward, once the trainer has built it, by one that
1. packs a padded batch [N, L] into one row [1, T] of its real tokens, with position_ids restarting
   at each row (and `cu_seq_lens_*`), from which transformers masks attention block-diagonally, as
   the padding-free SFT collator relies on; a row's first token gets no label (it would be predicted
   from the previous row);
2. projects the labelled positions only (`labelled_log_probs`);
3. scatters the values back to the [N, L-1] layout trl expects, zero where the label is -100.
`use_segment_attention(model)` then runs sdpa per packed row, causal, without the [T, T] mask.
Per-sequence log-prob sums and gradients equal the padded path's (tests/test_train_unit.py checks
them in float32 on a tiny model, DPO's loss too). Calls it cannot serve exactly (no labels,
`shift_labels`, embeddings instead of ids, left padding, MoE router losses, a scaled head) go to
trl's forward unchanged. `python -m bench.train` measures the speed.

    trainer = DPOTrainer(...); pack_fused_forward(trainer.model); use_segment_attention(trainer.model)
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
    from trl.trainer.utils import FusedCausalLMOutput

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
    per_token = labelled_log_probs(hidden[flat_mask], model.get_output_embeddings(), flat_labels[:, 1:][flat_mask],
                                   settings)
    # The labelled positions come in the same (row-major) order in the packed row as in the padded
    # batch, so they scatter straight into the padded layout; masked_scatter keeps the graph.
    out_mask = padded_labels[:, 1:] != -100
    fields = {k: None if x is None else x.new_zeros(out_mask.shape).masked_scatter(out_mask, x)
              for k, x in per_token.items()}
    count = out_mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return FusedCausalLMOutput(loss=-fields["log_probs"].sum() / count, **fields, label_mask=out_mask, aux_loss=None)


def labelled_log_probs(hidden, lm_head, targets, settings: dict) -> dict:
    """Per-token log-probs of `targets` from hidden states [N, H] (the labelled positions only), and
    the metric fields trl asked its head for (`settings["outputs"]`), as trl's kernel defines them.

    The logits of these N tokens are built whole: under bf16 autocast the projection runs in bf16,
    as trl's kernel runs its forward tiles, and the softmax in float32. That is ~3.5x faster than
    the kernel's vocabulary tiles on this CPU (its backward re-projects in float32) for N x vocab
    floats of memory (200 MB per 1000 tokens of a 49k vocabulary). The metric fields carry no
    gradient: trl 1.16's SFT and DPO trainers read them detached (logging, WPO weights)."""
    import torch

    z = lm_head(hidden).float()
    cap = settings["final_logit_softcapping"]
    if cap is not None:
        z = cap * torch.tanh(z / cap)
    z = z / settings["temperature"]
    log_z = torch.logsumexp(z, dim=-1)
    out = {"log_probs": z.gather(-1, targets[:, None])[:, 0] - log_z}
    wanted = settings["outputs"]
    with torch.no_grad():
        p = torch.exp(z - log_z[:, None]) if {"entropy", "log_sum_sq_probs"} & set(wanted) else None
        out["entropy"] = log_z - (p * z).sum(-1) if "entropy" in wanted else None
        out["log_sum_sq_probs"] = torch.log((p * p).sum(-1)) if "log_sum_sq_probs" in wanted else None
        out["mean_logits"] = z.mean(-1) if "mean_logits" in wanted else None
        # trl counts a tie with an earlier token as a miss: argmax returns the first maximum
        out["is_top1"] = z.argmax(-1) == targets if "is_top1" in wanted else None
    return out


SEGMENT_SDPA = "segment_sdpa"


def segment_sdpa(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, is_causal=None,
                 **kwargs):
    """sdpa over each packed row's own tokens (`cu_seq_lens_q` from the padding-free collators),
    causal and without a mask, instead of one [T, T] block-diagonal masked attention: the same
    result for a sum of per-row costs. Anything else goes to transformers' sdpa unchanged."""
    import torch
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    cu = kwargs.get("cu_seq_lens_q")
    if (cu is None or query.shape[0] != 1 or dropout or query.shape[2] != key.shape[2]
            or not getattr(module, "is_causal", True)):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    bounds = cu.tolist()
    out = torch.cat([torch.nn.functional.scaled_dot_product_attention(
        query[:, :, s:e], key[:, :, s:e], value[:, :, s:e], is_causal=True, scale=scaling)
        for s, e in zip(bounds[:-1], bounds[1:]) if e > s], dim=2)
    return out.transpose(1, 2).contiguous(), None


def use_segment_attention(model) -> bool:
    """Switch a model on sdpa to `segment_sdpa` (registered with transformers once, masks built as
    sdpa's). False, and nothing changed, for any other attention implementation."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if base.config._attn_implementation != "sdpa":
        return False
    AttentionInterface.register(SEGMENT_SDPA, segment_sdpa)
    AttentionMaskInterface.register(SEGMENT_SDPA, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    base.set_attn_implementation(SEGMENT_SDPA)
    return True
