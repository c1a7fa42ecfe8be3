"""`seedfactory push RUN_DIR --dataset REPO --model REPO [--private] [--yes]`: the run's dataset and
adapter to a Hugging Face Hub, each with its card.

    seedfactory push runs/default --dataset me/invoices --model me/invoices-smollm2     # dry run: the list
    HF_TOKEN=hf_... seedfactory push runs/default --dataset me/invoices --model me/invoices-smollm2 --yes

A dry run (the default) stages the files and lists what would be uploaded, to which repository,
with sizes; nothing is sent. `--yes` (or `--no-dry-run`) creates the repositories (private with
`--private`) and uploads each folder in one commit through `huggingface_hub` (`upload_folder`):
- dataset repo: `data/<split>-00000-of-00001.parquet` per split (the Hub reads the split names from
  the file names) and the dataset card `README.md`;
- model repo: the adapter's `adapter_config.json` and `adapter_model.safetensors`, and the model
  card (`model_card.md`, naming the dataset repo) as `README.md`.
The token comes from the environment only (`HF_TOKEN`; never read from or written to a file), the
Hub's address from `HF_ENDPOINT` (default huggingface.co).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from seedfactory.util.errors import SeedfactoryError

MODEL_FILES = ("adapter_config.json", "adapter_model.safetensors")


class PushError(SeedfactoryError):
    """A push that cannot go ahead: nothing to push, no token, offline mode."""


@dataclass
class Upload:
    repo: str
    repo_type: str  # "dataset" or "model"
    folder: Path    # the staged folder, uploaded whole

    def files(self) -> list[tuple[str, int]]:
        return sorted((p.relative_to(self.folder).as_posix(), p.stat().st_size)
                      for p in self.folder.rglob("*") if p.is_file())


def stage_dataset(out: Path, folder: Path) -> None:
    """The published DatasetDict as one parquet file per split, and its card."""
    from datasets import load_from_disk

    if not (out / "dataset" / "dataset_dict.json").is_file():
        raise PushError(f"{out}: no published dataset (dataset/dataset_dict.json); run the pipeline through publish")
    (folder / "data").mkdir(parents=True)
    for split, ds in load_from_disk(str(out / "dataset")).items():
        ds.to_parquet(str(folder / "data" / f"{split}-00000-of-00001.parquet"))
    card = out / "dataset" / "README.md"
    if card.is_file():
        (folder / "README.md").write_text(card.read_text(encoding="utf-8"), encoding="utf-8")


def stage_model(out: Path, folder: Path, dataset_repo: str | None) -> None:
    """The final adapter's files and the model card as README.md."""
    from seedfactory.model_card import model_card

    missing = [f for f in MODEL_FILES if not (out / "adapter" / f).is_file()]
    if missing:
        raise PushError(f"{out}: no trained adapter (adapter/{missing[0]} missing); run the pipeline through train")
    folder.mkdir(parents=True)
    for f in MODEL_FILES:
        (folder / f).write_bytes((out / "adapter" / f).read_bytes())
    (folder / "README.md").write_text(model_card(out, dataset_repo), encoding="utf-8")


@contextmanager
def staged(out: Path, dataset: str | None, model: str | None) -> Iterator[list[Upload]]:
    """The uploads, staged in a scratch folder removed afterwards."""
    out = Path(out)
    if not dataset and not model:
        raise PushError("push: name a --dataset REPO, a --model REPO or both")
    if not (out / "config.yaml").is_file():
        raise PushError(f"{out}: not a run directory (no config.yaml)")
    with tempfile.TemporaryDirectory(prefix="seedfactory-push-") as tmp:
        uploads = []
        if dataset:
            stage_dataset(out, Path(tmp) / "dataset")
            uploads.append(Upload(dataset, "dataset", Path(tmp) / "dataset"))
        if model:
            stage_model(out, Path(tmp) / "model", dataset)
            uploads.append(Upload(model, "model", Path(tmp) / "model"))
        yield uploads


def listing(uploads: list[Upload], private: bool) -> list[str]:
    lines = []
    for u in uploads:
        files = u.files()
        lines.append(f"{u.repo_type} {u.repo} ({'private' if private else 'public'}): {len(files)} files, "
                     f"{sum(s for _, s in files):,} bytes")
        lines += [f"  {path}  {size:,} bytes" for path, size in files]
    return lines


def upload(uploads: list[Upload], private: bool, message: str) -> list[str]:
    """Create each repository and upload its folder in one commit; the commit URLs."""
    from huggingface_hub import HfApi, constants

    token = os.environ.get("HF_TOKEN")
    if not token:
        raise PushError("push: no token; set HF_TOKEN in the environment (seedfactory never stores it)")
    if constants.HF_HUB_OFFLINE:
        raise PushError("push: HF_HUB_OFFLINE=1 is set; unset it to reach the Hub")
    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
    done = []
    for u in uploads:
        api.create_repo(u.repo, repo_type=u.repo_type, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=u.repo, repo_type=u.repo_type, folder_path=str(u.folder),
                                 commit_message=message)
        done.append(f"{u.repo_type} {u.repo}: {info.commit_url}")
    return done


def push(out: Path, dataset: str | None, model: str | None, *, private: bool = False,
         dry_run: bool = True) -> list[str]:
    """What a push uploads (dry run) or did upload: lines for the terminal."""
    with staged(out, dataset, model) as uploads:
        lines = listing(uploads, private)
        if dry_run:
            return ["dry run: nothing uploaded; add --yes to upload", *lines]
        return [*lines, *upload(uploads, private, f"seedfactory push of {Path(out).resolve().name}")]


def command(args) -> int:
    for line in push(args.run_dir, args.dataset, args.model, private=args.private, dry_run=not args.yes):
        print(line)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("push", help="upload the dataset and the adapter, with their cards, to a Hugging Face Hub "
                                    "(dry run unless --yes)")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--dataset", metavar="REPO", help="dataset repository, e.g. me/invoices")
    p.add_argument("--model", metavar="REPO", help="model repository for the adapter, e.g. me/invoices-smollm2")
    p.add_argument("--private", action="store_true", help="create the repositories private")
    p.add_argument("--yes", "--no-dry-run", dest="yes", action="store_true",
                   help="upload (default: a dry run listing what would be uploaded); token from HF_TOKEN")
