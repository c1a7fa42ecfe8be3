"""Small numpy classifiers for validators/labels.py: texts already embedded (unit rows), labels
as class indices 0..C-1. Each method maps (train rows, test rows) to class probabilities, so
leave-one-out is a loop over index sets and nothing is refit from text.

    X = embedder.embed(texts); toks = [set(words(t)) for t in texts]
    data = LabelData(X, y, n_classes, toks)
    probs = predict(data, "logreg+lexical", train_idx)      # (n, C): every row, fit on train_idx
    loo = Loo(data); loo.accuracy("centroid"); loo.nested(METHODS)

Methods: `nearest` (the 5 nearest seeds, each voting with weight exp(cosine / 0.05)),
`centroid` (cosine to each label's mean row, softmax at temperature 0.05), `logreg`
(multinomial logistic regression, L2 1e-4, 200 accelerated gradient steps in the span of the
training rows; weak L2 because a handful of seeds in 384 dimensions is separable and a
stronger one pulls every answer to the commonest label: on clause-classify its LOO rose from
0.32 at 1e-2 to 0.55, the same as scikit-learn's LogisticRegression at C=1000), each alone or
`+lexical`: averaged with the share of the text's words that only
ever appeared in one label's training inputs. A temperature of 0.05 means a label 0.05 cosine
closer is e times likelier: MiniLM's and the hashing embedder's cosines between labels of one
domain differ by a few hundredths to a few tenths.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

BASES = ("nearest", "centroid", "logreg")
METHODS = BASES + tuple(f"{b}+lexical" for b in BASES)
TEMPERATURE = 0.05
NEIGHBOURS = 5
L2 = 1e-4
STEPS = 200


@dataclass
class LabelData:
    X: np.ndarray  # (n, d) unit rows
    y: np.ndarray  # (n,) class indices
    n_classes: int
    tokens: list[frozenset[str]]


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _nearest(sim: np.ndarray, y: np.ndarray, C: int) -> np.ndarray:
    k = min(NEIGHBOURS, sim.shape[1])
    top = np.argsort(-sim, axis=1)[:, :k]
    out = np.zeros((sim.shape[0], C))
    for i, row in enumerate(top):
        w = np.exp((sim[i, row] - sim[i, row].max()) / TEMPERATURE)
        np.add.at(out[i], y[row], w)
    return out / out.sum(axis=1, keepdims=True)


def _centroid(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, C: int) -> np.ndarray:
    cents = np.zeros((C, Xtr.shape[1]))
    np.add.at(cents, ytr, Xtr)
    norms = np.linalg.norm(cents, axis=1, keepdims=True)
    present = norms[:, 0] > 0
    cos = Xte @ (cents / np.where(norms == 0, 1.0, norms)).T
    # A label with no training row (held out alone) can get no probability.
    cos[:, ~present] = -np.inf
    return _softmax(cos / TEMPERATURE)


def logreg_fit(K: np.ndarray, y: np.ndarray, masks: np.ndarray, C: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regressions on the rows each of `masks` (B, n) keeps, fit together: W = X^T A, so
    only the Gram matrix K (n, n) is needed, and a gradient step on W is the step
    (1 - lr L2) A - lr (P - Y) / n_train on A (rows left out keep A = 0). Nesterov momentum,
    STEPS steps at 1/L, L the loss's smoothness (half the kept Gram matrix's top eigenvalue over
    n_train, plus L2). Returns A (B, n, C) and b (B, 1, C); scores are K_new @ A + b."""
    M = masks[:, :, None].astype(float)
    Y = np.eye(C)[y][None] * M
    n_train = M.sum(axis=1, keepdims=True)
    top = np.linalg.eigvalsh(K[None] * M * M.transpose(0, 2, 1))[:, -1][:, None, None]
    lr = 1.0 / (0.5 * top / n_train + L2)
    A, b = np.zeros((len(masks), K.shape[0], C)), np.zeros((len(masks), 1, C))
    A_prev, b_prev = A, b
    for t in range(1, STEPS + 1):
        mom = (t - 1) / (t + 2)
        Av, bv = A + mom * (A - A_prev), b + mom * (b - b_prev)
        S = K @ Av + bv
        P = np.exp(S - S.max(axis=2, keepdims=True))
        G = (P / P.sum(axis=2, keepdims=True) - Y) * M / n_train
        A_prev, b_prev = A, b
        A, b = (1 - lr * L2) * Av - lr * G, bv - lr * G.sum(axis=1, keepdims=True)
    return A, b


def exclusive_words(tokens: list[frozenset[str]], y: np.ndarray, C: int) -> list[dict[str, float]]:
    """Per label, the words that appear in its inputs and in no input of another label, each
    weighted by n / (size + 1), n the label's inputs that use it: a word all five inputs of a
    label write counts 0.83, a name that one of them happened to mention 0.17, and a word of a
    label seen once 0.5 (one input cannot show which of its words mark the label)."""
    seen: dict[str, Counter[int]] = {}
    for toks, c in zip(tokens, y):
        for w in toks:
            seen.setdefault(w, Counter())[int(c)] += 1
    sizes = np.bincount(y, minlength=C)
    out: list[dict[str, float]] = [{} for _ in range(C)]
    for w, labels in seen.items():
        (c, n), *others = labels.items()
        if not others:
            out[c][w] = n / (sizes[c] + 1)
    return out


def lexical_scores(excl: list[dict[str, float]], tokens: list[frozenset[str]]) -> np.ndarray:
    """Per text, each label's share of the weight of the text's exclusive words (zeros when none)."""
    scores = np.array([[sum(e[w] for w in t if w in e) for e in excl] for t in tokens]).reshape(len(tokens), len(excl))
    total = scores.sum(axis=1, keepdims=True)
    return scores / np.where(total == 0, 1.0, total)


def predict(data: LabelData, method: str, train: np.ndarray, X_test: np.ndarray | None = None,
            tokens_test: list[frozenset[str]] | None = None, base_probs: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities from a model fit on the data rows `train`: for new rows X_test (and
    their word sets tokens_test), else for every data row. `base_probs`, the same rows' answer
    of the method without `+lexical`, saves refitting it."""
    base, _, lex = method.partition("+")
    C, Xtr, ytr = data.n_classes, data.X[train], data.y[train]
    Xte = data.X if X_test is None else X_test
    if base_probs is not None:
        probs = base_probs
    elif base == "nearest":
        probs = _nearest(Xte @ Xtr.T, ytr, C)
    elif base == "centroid":
        probs = _centroid(Xtr, ytr, Xte, C)
    elif base == "logreg":
        A, b = logreg_fit(Xtr @ Xtr.T, ytr, np.ones((1, len(train)), dtype=bool), C)
        probs = _softmax(Xte @ Xtr.T @ A[0] + b[0])
    else:
        raise ValueError(f"unknown label method {method!r}; choose one of {METHODS}")
    if lex:
        excl = exclusive_words([data.tokens[i] for i in train], ytr, C)
        probs = with_lexical(probs, excl, data.tokens if tokens_test is None else tokens_test)
    return probs


def with_lexical(probs: np.ndarray, excl: list[dict[str, float]], tokens: list[frozenset[str]]) -> np.ndarray:
    """The average of the probabilities and the lexical shares, for texts with exclusive words."""
    lx = lexical_scores(excl, tokens)
    return np.where(lx.sum(axis=1, keepdims=True) > 0, (probs + lx) / 2, probs)


class Classifier:
    """One method fit once on every data row, then applied to new texts: `clf(X, tokens)`."""

    def __init__(self, data: LabelData, method: str):
        base, _, lex = method.partition("+")
        if base not in BASES or lex not in ("", "lexical"):
            raise ValueError(f"unknown label method {method!r}; choose one of {METHODS}")
        self.data, self.base = data, base
        everyone = np.ones((1, len(data.y)), dtype=bool)
        self._ab = logreg_fit(data.X @ data.X.T, data.y, everyone, data.n_classes) if base == "logreg" else None
        self._excl = exclusive_words(data.tokens, data.y, data.n_classes) if lex else None

    def __call__(self, X: np.ndarray, tokens: list[frozenset[str]]) -> np.ndarray:
        if self._ab is not None:
            A, b = self._ab
            probs = _softmax(X @ self.data.X.T @ A[0] + b[0])
        else:
            probs = predict(self.data, self.base, np.arange(len(self.data.y)), X_test=X)
        return probs if self._excl is None else with_lexical(probs, self._excl, tokens)


class Loo:
    """Leave-one-out over one LabelData, with every fit kept: the fit without rows {i, j} serves
    both the inner LOO of outer row i (testing j) and that of outer row j (testing i), so nested
    LOO costs n(n+1)/2 fits per method rather than n^2."""

    def __init__(self, data: LabelData):
        self.data, self.n = data, len(data.y)
        self._fits: dict[tuple[str, frozenset[int]], np.ndarray] = {}

    def probs_without(self, method: str, excluded: frozenset[int]) -> np.ndarray:
        key = (method, excluded)
        if key not in self._fits:
            train = np.array([i for i in range(self.n) if i not in excluded])
            base = method.partition("+")[0]
            self._fits[key] = predict(self.data, method, train, base_probs=None if base == method
                                      else self.probs_without(base, excluded))
        return self._fits[key]

    def prefit(self, excluded: list[frozenset[int]]) -> None:
        """Fit logistic regression without each of the `excluded` sets in one batch."""
        todo = [e for e in excluded if ("logreg", e) not in self._fits]
        if not todo:
            return
        masks = np.ones((len(todo), self.n), dtype=bool)
        for k, e in enumerate(todo):
            masks[k, list(e)] = False
        K = self.data.X @ self.data.X.T
        A, b = logreg_fit(K, self.data.y, masks, self.data.n_classes)
        for k, e in enumerate(todo):
            self._fits[("logreg", e)] = _softmax(K @ A[k] + b[k])

    def accuracy(self, method: str, excluded: frozenset[int] = frozenset()) -> float:
        """LOO accuracy over the rows not in `excluded`, each predicted from the others."""
        rows = [i for i in range(self.n) if i not in excluded]
        hits = [int(np.argmax(self.probs_without(method, excluded | {i})[i])) == self.data.y[i] for i in rows]
        return float(np.mean(hits))

    def best(self, methods: tuple[str, ...], excluded: frozenset[int] = frozenset()) -> tuple[str, dict[str, float]]:
        """The method with the highest LOO accuracy (ties to the earlier, simpler one) and all scores."""
        self.prefit([excluded | {i} for i in range(self.n) if i not in excluded])
        scores = {m: self.accuracy(m, excluded) for m in methods}
        return max(methods, key=lambda m: (scores[m], -methods.index(m))), scores

    def nested(self, methods: tuple[str, ...]) -> float:
        """LOO accuracy of the whole procedure, the choice of method included: each row is
        predicted by the method that won the LOO on the other rows. Picking the best of several
        LOO scores flatters the winner; this estimate does not."""
        self.prefit([frozenset({i, j}) for i in range(self.n) for j in range(i, self.n)])
        hits = 0
        for i in range(self.n):
            pick, _ = self.best(methods, frozenset({i}))
            hits += int(np.argmax(self.probs_without(pick, frozenset({i}))[i])) == self.data.y[i]
        return hits / self.n


def majority_loo(y: np.ndarray) -> float:
    """Leave-one-out accuracy of always answering the training rows' most common label (ties to
    the lowest index): the baseline a classifier must beat."""
    hits = 0
    for i in range(len(y)):
        counts = np.bincount(np.delete(y, i), minlength=int(y.max()) + 1)
        hits += int(np.argmax(counts) == y[i])
    return hits / len(y)
