"""Labels that agree with the text: a second signal for enum and boolean labels on inputs the
teacher wrote. A template row carries its label by construction (the base seed's text, values
swapped); a teacher-written row's label (the consensus of the teacher's answers, i.e. the row's
output) must not contradict a classifier calibrated on the seeds, or the row leaves with reason
`label_unsupported`.

Per label field, a classifier maps a seed's input (embedded; validators/embedders.py) to its
label; the method (label_models.METHODS: nearest seeds, label centroids, logistic regression,
each with or without words only one label's inputs use) is the one with the best leave-one-out
accuracy on the seeds. `loo_accuracy` is the LOO accuracy of that whole choice (nested LOO, up
to NESTED_MAX seeds; above, the winner's own LOO). A field is `applied` only when it reaches
`validate.label_min_accuracy` and the one-sided 95% lower bound of its LOO accuracy beats always
answering the commonest label (LOO of that rule, `majority_baseline`): with 18 seeds, 14 right
against a baseline of 12 is luck as often as not, and a check that flags rows by luck removes
good ones. A label seen in one seed only is never predicted when that seed is held out, so it
counts against LOO as it should (`singletons` names them).

    check = label_check_for_run(train_seeds, schema, embedder, cfg.validate)   # None when off
    check.loo_accuracy, check.majority_baseline, check.applied, check.table()  # calibration.json
    kept, rejects = label_verdicts(rows, check)          # rows: Examples after the judge's consensus
    for row, reason, detail in rejects:
        reject(row, reason, detail=detail)               # reason == "label_unsupported"

The judge stage calls `label_verdicts` on the rows it keeps, once per run, after consensus has
chosen each task's answer (the check reads `row.output`, and `row.input` or, when empty, the
instruction). Rows whose lineage strategy is in `by_construction` (default
`output_first:template`) are kept unchecked; every other strategy is checked. The check is fit
once per run from the train seeds, never from generated rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seedfactory.schemas import Example, SeedExample
from seedfactory.schemas.config import ValidateConfig
from seedfactory.validators.embedders import Embedder
from seedfactory.validators.label_models import METHODS, Classifier, LabelData, Loo, majority_loo
from seedfactory.validators.similarity import words

NESTED_MAX = 40  # seeds up to which the method choice is inside the LOO (n^2/2 fits per method)
LINE = re.compile(r"^\s*([A-Za-z][\w ]{0,39}?)\s*:\s*(\S.*?)\s*$", re.M)
BY_CONSTRUCTION = ("output_first:template",)


def label_key(value: Any) -> str | None:
    """How labels compare: case and spacing do not matter; booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip():
        return " ".join(value.casefold().split())
    return None


def label_of(output: Any, name: str) -> str | None:
    """A field's label key: the object's value, or in a text output the line `name: value`."""
    if isinstance(output, dict):
        return label_key(output.get(name))
    if isinstance(output, str):
        for key, value in LINE.findall(output):
            if key.strip().casefold() == name.casefold():
                return label_key(value)
    return None


def text_of(row: Example | SeedExample) -> str:
    """The text a label must agree with: the input, or the instruction when there is none."""
    return row.input if row.input.strip() else row.instruction


def _closed_set(values: list[str], max_values: int, min_uses: int) -> bool:
    counts = Counter(values)
    return 2 <= len(counts) <= max_values and min(counts.values()) >= min_uses


def label_fields(schema: dict | None, seeds: Sequence[SeedExample], max_values: int = 8,
                 min_uses: int = 2) -> list[str]:
    """Label fields: the schema's top-level enum and boolean properties, seed fields holding
    booleans, and closed string sets in the seeds (2..max_values distinct values, each used at
    least min_uses times), from objects or from `Name: value` lines of text outputs."""
    out: list[str] = []
    for name, prop in ((schema or {}).get("properties") or {}).items():
        subs = [prop, *prop.get("anyOf", []), *prop.get("oneOf", [])] if isinstance(prop, dict) else []
        types = [t for s in subs for t in ([s.get("type")] if isinstance(s.get("type"), str) else s.get("type") or [])]
        if any("enum" in s for s in subs) or "boolean" in types:
            out.append(name)
    values: dict[str, list[Any]] = {}
    for s in seeds:
        pairs = s.output.items() if isinstance(s.output, dict) else LINE.findall(s.output)
        for key, value in pairs:
            if value is not None:
                values.setdefault(key.strip() if isinstance(s.output, str) else key, []).append(value)
    for name, vals in values.items():
        if name in out:
            continue
        if all(isinstance(v, bool) for v in vals) and len(set(vals)) == 2:
            out.append(name)
        elif all(isinstance(v, str) for v in vals) and _closed_set([label_key(v) for v in vals], max_values, min_uses):
            out.append(name)
    return out


def wilson_low(p: float, n: int, z: float = 1.645) -> float:
    """One-sided 95% lower bound of a share p seen on n trials (Wilson score interval)."""
    centre, spread = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre - spread) / (1 + z * z / n))


@dataclass
class FieldModel:
    data: LabelData
    method: str
    classes: list[str]  # label keys, in class-index order
    shown: dict[str, str]  # label key -> the label as the seeds first wrote it
    classifier: Classifier  # `method` fit on every seed


@dataclass
class LabelCheck:
    min_accuracy: float
    min_confidence: float
    embedder: Embedder
    loo_accuracy: dict[str, float] = field(default_factory=dict)
    majority_baseline: dict[str, float] = field(default_factory=dict)
    loo_low: dict[str, float] = field(default_factory=dict)  # one-sided 95% Wilson lower bound of LOO
    applied: dict[str, bool] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)
    method_loo: dict[str, dict[str, float]] = field(default_factory=dict)  # each method's own LOO
    n_seeds: dict[str, int] = field(default_factory=dict)
    singletons: dict[str, list[str]] = field(default_factory=dict)  # labels in one seed only
    skipped: dict[str, str] = field(default_factory=dict)  # field -> why no classifier was fit
    models: dict[str, FieldModel] = field(default_factory=dict, repr=False)

    def why(self, name: str) -> str:
        if name in self.skipped:
            return f"{name}: not checked ({self.skipped[name]})"
        verdict = "checked" if self.applied[name] else "not checked"
        return (f"{name}: {verdict}: {self.method[name]} LOO {self.loo_accuracy[name]:.2f} (95% lower "
                f"bound {self.loo_low[name]:.2f}) on {self.n_seeds[name]} seeds; always the commonest "
                f"label: {self.majority_baseline[name]:.2f}; validate.label_min_accuracy={self.min_accuracy}")

    def table(self) -> dict:
        """JSON-able summary per field for calibration.json and the report."""
        out = {n: {"applied": False, "why": self.why(n)} for n in self.skipped}
        for n in self.models:
            out[n] = {"applied": self.applied[n], "why": self.why(n), "method": self.method[n],
                      "seeds": self.n_seeds[n], "loo_accuracy": round(self.loo_accuracy[n], 4),
                      "loo_low": round(self.loo_low[n], 4), "majority_baseline": round(self.majority_baseline[n], 4),
                      "methods": {m: round(a, 4) for m, a in self.method_loo[n].items()},
                      "singletons": self.singletons[n]}
        return out

    def predict(self, texts: str | list[str]) -> dict[str, tuple[str, float]] | list[dict[str, tuple[str, float]]]:
        """Per text, per fitted field, (label as the seeds write it, probability). A single text
        gives a single dict."""
        one = isinstance(texts, str)
        batch = [texts] if one else list(texts)
        out: list[dict[str, tuple[str, float]]] = [{} for _ in batch]
        if batch and self.models:
            X = self.embedder.embed(batch)
            toks = [frozenset(words(t)) for t in batch]
            for name, fm in self.models.items():
                for i, p in enumerate(fm.classifier(X, toks)):
                    c = int(np.argmax(p))
                    out[i][name] = (fm.shown[fm.classes[c]], float(p[c]))
        return out[0] if one else out

    def unsupported(self, output: Any, text: str,
                    predicted: dict[str, tuple[str, float]] | None = None) -> list[str]:
        """One detail per applied field whose label in `output` differs from a confident
        prediction. A label no seed uses is not judged: the classifier cannot say it back."""
        pred = self.predict(text) if predicted is None else predicted
        details = []
        for name, ok in self.applied.items():
            fm, have = self.models[name], label_of(output, name)
            if not ok or have is None or have not in fm.classes or name not in pred:
                continue
            said, conf = pred[name]
            if label_key(said) != have and conf >= self.min_confidence:
                details.append(f"{name}={fm.shown[have]!r} but the seeds' classifier says {said!r} ({conf:.2f}; "
                               f"LOO {self.loo_accuracy[name]:.2f} on {self.n_seeds[name]} seeds)")
        return details


    def unconfirmed(self, output: Any, text: str, predicted: dict[str, tuple[str, float]] | None = None) -> list[str]:
        """The strict reading, for labels a teacher chose: one detail per label in `output` that lacks a
        second signal, because the field's classifier is not reliable on the seeds (not applied) or does
        not say the same label with confidence."""
        pred = self.predict(text) if predicted is None else predicted
        details = []
        for name in [*self.models, *self.skipped]:
            have = label_of(output, name)
            if have is None:
                continue
            if isinstance(output, dict) and _written(output.get(name), text):
                continue  # the label itself is written in the text ("EUR", "refurbished"): that is the signal
            if not self.applied.get(name):
                details.append(f"{name}={have!r} has no second signal ({self.why(name)})")
                continue
            said, conf = pred.get(name, (None, 0.0))
            if label_key(said) != have or conf < self.min_confidence:
                details.append(f"{name}={self.models[name].shown.get(have, have)!r} is not what the seeds' classifier "
                               f"says ({said!r}, {conf:.2f})")
        return details


def _written(value: Any, text: str) -> bool:
    """A string label stated word for word in the text (underscores read as spaces)."""
    if not isinstance(value, str) or len(value) < 2:
        return False
    words = re.escape(value.replace("_", " ").casefold()).replace("\\ ", r"[\s_-]+")
    return re.search(rf"(?<!\w){words}(?!\w)", text.casefold()) is not None


def _field_names(fields: Iterable[str] | Mapping[str, Any]) -> list[str]:
    # A FieldKind table (validators/kinds.py) names its labels by kind; a list names them outright.
    if isinstance(fields, Mapping):
        return [n for n, fk in fields.items() if getattr(fk, "kind", "label") in ("label", "boolean")]
    return list(fields)


def fit_label_check(seeds: Sequence[SeedExample], fields: Iterable[str] | Mapping[str, Any], embedder: Embedder,
                    min_accuracy: float = 0.7, min_confidence: float = 0.5) -> LabelCheck:
    """A classifier per label field from the seeds' inputs, chosen and scored by leave-one-out."""
    check = LabelCheck(min_accuracy=min_accuracy, min_confidence=min_confidence, embedder=embedder)
    names = _field_names(fields)
    texts = [text_of(s) for s in seeds]
    X = embedder.embed(texts) if names and seeds else None
    for name in names:
        rows = [(i, k) for i, s in enumerate(seeds) if (k := label_of(s.output, name)) is not None]
        classes = sorted({k for _, k in rows})
        if len(rows) < 3 or len(classes) < 2:
            check.skipped[name] = f"{len(rows)} labelled seeds, {len(classes)} distinct label(s)"
            continue
        idx = np.array([i for i, _ in rows])
        y = np.array([classes.index(k) for _, k in rows])
        data = LabelData(X[idx], y, len(classes), [frozenset(words(texts[i])) for i in idx])
        loo = Loo(data)
        best, scores = loo.best(METHODS)
        shown: dict[str, str] = {}
        for i, k in rows:
            raw = seeds[i].output.get(name) if isinstance(seeds[i].output, dict) else k
            shown.setdefault(k, raw if isinstance(raw, str) else k)
        counts = Counter(y.tolist())
        check.models[name] = FieldModel(data, best, classes, shown, Classifier(data, best))
        check.method[name], check.method_loo[name], check.n_seeds[name] = best, scores, len(rows)
        check.loo_accuracy[name] = float(loo.nested(METHODS) if len(rows) <= NESTED_MAX else scores[best])
        check.majority_baseline[name] = majority_loo(y)
        check.singletons[name] = [shown[classes[c]] for c, n in sorted(counts.items()) if n == 1]
        check.loo_low[name] = wilson_low(check.loo_accuracy[name], len(rows))
        check.applied[name] = bool(check.loo_accuracy[name] >= min_accuracy
                                   and check.loo_low[name] > check.majority_baseline[name])
    return check


def label_check_for_run(seeds: Sequence[SeedExample], schema: dict | None, embedder: Embedder, cfg: ValidateConfig,
                        fields: Iterable[str] | Mapping[str, Any] | None = None) -> LabelCheck | None:
    """The run's check from its config: None when validate.label_check is off or no field is a
    label; `fields` (names or a FieldKind table) defaults to label_fields(schema, seeds)."""
    if not cfg.label_check:
        return None
    names = _field_names(fields) if fields is not None else label_fields(schema, seeds)
    return fit_label_check(seeds, names, embedder, cfg.label_min_accuracy) if names else None


Verdict = tuple[Example, str, str]


def label_verdicts(rows: Iterable[Example], check: LabelCheck | None,
                   by_construction: Sequence[str] = BY_CONSTRUCTION,
                   lenient: Sequence[str] | None = None) -> tuple[list[Example], list[Verdict]]:
    """(kept rows, [(row, "label_unsupported", detail)]): rows written by construction are kept. With
    `lenient` given, a row of those strategies (its text rewritten from a seed that carried the label)
    leaves only when a confident, applied classifier contradicts it, and every other row needs the
    classifier's agreement (`LabelCheck.unconfirmed`: a label the teacher chose needs a second signal).
    Without `lenient`, every row not by construction is judged the lenient way."""
    rows = list(rows)
    if check is None or (lenient is None and not any(check.applied.values())):
        return rows, []
    todo = [i for i, r in enumerate(rows) if r.lineage.strategy not in by_construction]
    preds = check.predict([text_of(rows[i]) for i in todo]) if todo else []
    bad: dict[int, str] = {}
    for i, p in zip(todo, preds):
        strict = lenient is not None and rows[i].lineage.strategy not in lenient
        judge = check.unconfirmed if strict else check.unsupported
        details = judge(rows[i].output, text_of(rows[i]), predicted=p)
        if details:
            bad[i] = "; ".join(details)
    kept = [r for i, r in enumerate(rows) if i not in bad]
    return kept, [(rows[i], "label_unsupported", detail) for i, detail in bad.items()]
