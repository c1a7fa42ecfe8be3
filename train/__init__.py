"""Train and evaluate the student: LoRA SFT, then DPO, with trl; held-out scoring.

- `data`: pipeline records -> trl conversational rows (`sft_records`, `dpo_records`)
- `sft`: `train_sft` (SFTTrainer + LoRA, adapter saved by write-then-rename)
- `dpo`: `train_preference` (DPO, ORPO or KTO continuing the SFT adapter; DPO's reference = the SFT adapter)
- `recipe`: one training round (SFT, preference, curve, rounds), shared by the train stage, tune and launch
- `evaluate`: `generate_answers`, `score_json` (free text is judged by `seedfactory.judges.win_rate`)
- `adapters`: `open_adapters`, several LoRA adapters over one base (vLLM multi-LoRA or peft)

Heavy libraries (torch, transformers, trl, peft) are imported inside the functions that use them.
"""
