"""Class balance of a generated set B against a labelled reference set A (one sub-folder per class,
:mod:`core.images.classes`): which of A's classes B produces too rarely or too often, and how
well B matches A within each class.

Method (in the spirit of the class-aware evaluations of Shmelkov et al. 2018, "How good is my
GAN?", and of per-class FID/KID in dgm-eval-style reports):

* **Features**: one Inception pass per set (the FID/KID extractor, with its feature cache:
  :func:`core.metrics.compare.set_features`).
* **Assignment**: each B image gets the class of a k-nearest-neighbour vote among A's labelled
  images (Euclidean distance in feature space). A tie between classes goes to the tied class
  whose nearest member among the k neighbours is nearest (ties in distance by A's row order).
  The same rule, leaving each A image out of its own vote, gives the classifier's accuracy on A
  (leave-one-out): how far the assignment can be trusted.
* **Balance**: per class, A's share, B's count and share, the count expected if B had A's
  shares (n_B x share_A), the ratio share_B / share_A and an exact two-sided binomial test of
  B's count against Binomial(n_B, share_A), Bonferroni-corrected over the classes. A class is
  flagged **missing** when B has none although at least :data:`MIN_EXPECTED` were expected;
  **too rare** when B's share is below A's with a corrected p-value below :data:`ALPHA`;
  **too common** when B's count is above what A's share *among the classes B produces* predicts
  (A's shares renormalised without the missing classes; a one-sided binomial test, corrected
  the same way): one missing class raises every other class's share, which is not
  over-production. A chi-square goodness-of-fit test over all classes says whether the shares
  differ at all.
* **Per-class KID**: :func:`core.metrics.kid.kid` between A's images of a class and the B
  images assigned to it, when both have at least :data:`MIN_KID_IMAGES`; "too few" otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.metrics.kid import KIDResult, kid
from core.runtime.progress import Progress, null_progress

__all__ = [
    "ALPHA",
    "MIN_EXPECTED",
    "MIN_KID_IMAGES",
    "ClassBalance",
    "ClassRow",
    "class_balance_from_features",
    "knn_assign",
]

#: Significance level of the per-class tests (after the Bonferroni correction).
ALPHA = 0.05
#: A class with no B image is called missing only when at least this many were expected.
MIN_EXPECTED = 5
#: Per-class KID needs at least this many images of the class on each side.
MIN_KID_IMAGES = 10
#: Distances computed at once at most (float64: 64 MB), as rows of B (or A) against all of A.
_CHUNK_VALUES = 8 * 2**20


@dataclass
class ClassRow:
    """One class: A's count and share, B's (assigned) count and share, the count expected at A's
    share, B's share / A's share, the corrected binomial p-value (two-sided against A's share;
    for a class flagged too common, the one-sided one among the classes B produces), the flag
    ("missing", "too rare", "too common" or "") and KID within the class (None: too few
    images)."""

    name: str
    count_a: int
    share_a: float
    count_b: int
    share_b: float
    expected_b: float
    ratio: float
    p_value: float
    flag: str
    kid: KIDResult | None = None


@dataclass
class ClassBalance:
    rows: list[ClassRow]
    k: int
    loo_accuracy: float  # the k-NN rule's accuracy on A, leave-one-out
    chi2: float
    chi2_p: float
    n_a: int  # labelled A images used
    n_b: int
    n_unlabelled_a: int = 0  # A images outside every class folder (left out)
    extractor: str = ""
    seed: int = 0
    assigned: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    warnings: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[ClassRow]:
        return [r for r in self.rows if r.flag]

    def sentence(self) -> str:
        """The finding in plain words."""
        trust = f"(the class assignment is right for {100 * self.loo_accuracy:.0f} % of A's own images)"
        if not self.flagged:
            return f"B's class shares match A's within chance {trust}."
        parts = []
        for flag in ("missing", "too rare", "too common"):
            names = [r.name for r in self.rows if r.flag == flag]
            if names:
                parts.append(f"{flag}: {', '.join(names)}")
        return f"B's class shares differ from A's — {'; '.join(parts)} {trust}."

    def to_dict(self) -> dict:
        return {
            "k": self.k,
            "loo_accuracy": self.loo_accuracy,
            "chi2": self.chi2,
            "chi2_p": self.chi2_p,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "n_unlabelled_a": self.n_unlabelled_a,
            "extractor": self.extractor,
            "seed": self.seed,
            "sentence": self.sentence(),
            "warnings": list(self.warnings),
            "classes": [
                {
                    "name": r.name,
                    "count_a": r.count_a,
                    "share_a": r.share_a,
                    "count_b": r.count_b,
                    "share_b": r.share_b,
                    "expected_b": r.expected_b,
                    "ratio": r.ratio,
                    "p_value": r.p_value,
                    "flag": r.flag,
                    "kid_mean": None if r.kid is None else r.kid.mean,
                    "kid_std": None if r.kid is None else r.kid.std,
                }
                for r in self.rows
            ],
        }


def _vote(nn_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per row of k neighbour labels (nearest first): the majority class; a tie goes to the tied
    class met first, i.e. whose nearest member is nearest."""
    counts = np.zeros((nn_labels.shape[0], n_classes), dtype=np.int64)
    np.add.at(counts, (np.arange(nn_labels.shape[0])[:, None], nn_labels), 1)
    best = counts.max(1, keepdims=True)
    tied = counts[np.arange(nn_labels.shape[0])[:, None], nn_labels] == best  # per neighbour
    return nn_labels[np.arange(nn_labels.shape[0]), tied.argmax(1)]


def knn_assign(
    ref: np.ndarray,
    labels: np.ndarray,
    query: np.ndarray | None,
    k: int,
    n_classes: int,
    progress: Progress = null_progress,
    stage: str = "",
) -> np.ndarray:
    """Class of each ``query`` row by the k-NN vote over ``ref`` (labelled ``labels``, 0..C-1),
    the tie rule of the module docstring; ``query`` None: each ``ref`` row, leaving itself out."""
    ref = np.asarray(ref, dtype=np.float64)
    loo = query is None
    q = ref if loo else np.asarray(query, dtype=np.float64)
    k_eff = min(k, ref.shape[0] - (1 if loo else 0))
    if k_eff < 1:
        raise ValueError("the k-NN assignment needs at least 2 labelled images in set A")
    sq_ref = np.einsum("ij,ij->i", ref, ref)
    out = np.empty(q.shape[0], dtype=np.int64)
    chunk = max(1, _CHUNK_VALUES // max(ref.shape[0], 1))
    for s in range(0, q.shape[0], chunk):
        blk = q[s : s + chunk]
        d = np.einsum("ij,ij->i", blk, blk)[:, None] + sq_ref[None, :] - 2.0 * (blk @ ref.T)
        if loo:
            d[np.arange(blk.shape[0]), np.arange(s, s + blk.shape[0])] = np.inf
        part = np.argpartition(d, k_eff - 1, axis=1)[:, :k_eff]
        # nearest first; equal distances by A's row order
        order = np.lexsort((part, np.take_along_axis(d, part, 1)), axis=1)
        nn = np.take_along_axis(part, order, 1)
        out[s : s + blk.shape[0]] = _vote(labels[nn], n_classes)
        progress(stage, min(s + chunk, q.shape[0]), q.shape[0])
    return out


def class_balance_from_features(
    feats_a: np.ndarray,
    labels_a: np.ndarray,
    class_names: list[str] | tuple[str, ...],
    feats_b: np.ndarray,
    *,
    k: int = 5,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
    extractor: str = "",
    progress: Progress = null_progress,
) -> ClassBalance:
    """The class balance (module docstring) from A's features and labels (-1: no class, left
    out) and B's features."""
    from scipy.stats import binomtest, chisquare

    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    labels_a = np.asarray(labels_a, dtype=np.int64)
    keep = labels_a >= 0
    fa, la = np.asarray(feats_a)[keep], labels_a[keep]
    n_c = len(class_names)
    if fa.shape[0] < 2 or len(np.unique(la)) < 2:
        raise ValueError("set A needs at least two class folders with images for a class balance")
    if len(feats_b) < 1:
        raise ValueError("set B has no images")
    assigned = knn_assign(fa, la, feats_b, k, n_c, progress, "Assigning B's images to A's classes")
    loo = knn_assign(fa, la, None, k, n_c, progress, "Checking the assignment on A (leave-one-out)")
    loo_acc = float((loo == la).mean())
    count_a = np.bincount(la, minlength=n_c)
    count_b = np.bincount(assigned, minlength=n_c)
    n_a, n_b = int(count_a.sum()), int(count_b.sum())
    share_a, share_b = count_a / n_a, count_b / n_b
    expected = n_b * share_a
    present = count_a > 0
    chi = chisquare(count_b[present], expected[present])
    missing = (count_b == 0) & (expected >= MIN_EXPECTED)
    # "too common" is judged among the classes B produces: A's shares renormalised without the
    # missing classes (else one missing class makes every other one look too common)
    kept_share = share_a[~missing].sum()
    share_kept = np.where(missing, 0.0, share_a / kept_share) if kept_share > 0 else share_a
    rows = []
    for c, name in enumerate(class_names):
        p = binomtest(int(count_b[c]), n_b, float(share_a[c])).pvalue if share_a[c] > 0 else 1.0
        p_adj = min(1.0, float(p) * n_c)
        p_over = 1.0
        if not missing[c] and 0 < share_kept[c] < 1:
            test = binomtest(int(count_b[c]), n_b, float(share_kept[c]), alternative="greater")
            p_over = min(1.0, float(test.pvalue) * n_c)
        if missing[c]:
            flag = "missing"
        elif p_adj < ALPHA and share_b[c] < share_a[c]:
            flag = "too rare"
        elif p_over < ALPHA:
            flag = "too common"
        else:
            flag = ""
        if flag == "too common":
            p_adj = p_over
        ratio = float(share_b[c] / share_a[c]) if share_a[c] > 0 else float("inf")
        kid_c = None
        ia, ib = np.flatnonzero(la == c), np.flatnonzero(assigned == c)
        if min(ia.size, ib.size) >= MIN_KID_IMAGES:
            kid_c = kid(
                fa[ia], np.asarray(feats_b)[ib], n_subsets=kid_subsets, subset_size=kid_subset_size, seed=seed
            )
        rows.append(
            ClassRow(
                name,
                int(count_a[c]),
                float(share_a[c]),
                int(count_b[c]),
                float(share_b[c]),
                float(expected[c]),
                ratio,
                p_adj,
                flag,
                kid_c,
            )
        )
    warnings = []
    if loo_acc < 0.8:
        warnings.append(
            f"the k-NN assignment is right for only {100 * loo_acc:.0f} % of A's own images (leave-one-out): "
            "the classes overlap in feature space, so B's class counts are rough"
        )
    return ClassBalance(
        rows=rows,
        k=k,
        loo_accuracy=loo_acc,
        chi2=float(chi.statistic),
        chi2_p=float(chi.pvalue),
        n_a=n_a,
        n_b=n_b,
        n_unlabelled_a=int((~keep).sum()),
        extractor=extractor,
        seed=seed,
        assigned=assigned,
        warnings=warnings,
    )
