"""Distribution shift between two release profiles, with the tests Evidently picks by default.

Profiles hold histograms (value -> count), not rows, so every statistic is computed from counts;
each one equals what Evidently's legacy stattests (``evidently/legacy/calculations/stattests``)
return on the expanded rows. Only the Kolmogorov-Smirnov test needs the rows themselves: it is
chosen for at most 1000 reference observations, so expanding them is cheap.

Degenerate cases, as Evidently handles them: a reference with zero spread is normalised by 0.001
for Wasserstein; a category absent from the reference but present in the current release gives
the chi-square p-value 0; two sides holding the same single value give the z-test p-value 1.
"""

import operator
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial import distance

from catalog.releases.schemas import FeatureShift, Profile, ShiftOut

SMALL = 1000  # reference observations up to which p-values are used, distances above (registry.py)
P_VALUE = 0.05
DISTANCE = 0.1
PSI = 0.1


@dataclass(frozen=True)
class _Hist:
    """One side of one feature: its distinct values, sorted, and how often each was observed."""

    values: np.ndarray
    counts: np.ndarray

    @property
    def size(self) -> int:
        return int(self.counts.sum())

    def rows(self) -> np.ndarray:
        return np.repeat(self.values, self.counts)


def compare(reference: Profile, current: Profile, *, drift_share: float = 0.5) -> ShiftOut:
    """Shift of every feature from ``reference`` to ``current``: categorical features, then numeric, by name.

    A feature is compared when both releases observe it at least once, even if one profile lacks it
    by name; when either has no observation (Evidently refuses an empty column), it is left out.
    The dataset drifted when the drifted features make up at least ``drift_share`` of them, as in
    Evidently's ``get_dataset_drift``; with no feature to compare, it did not.
    """
    features = [_shift(kind, name, ref, cur) for kind, name, ref, cur in _features(reference, current)]
    drifted = sum(feature.drifted for feature in features)
    return ShiftOut(
        features=features,
        drifted_features=drifted,
        drift_share=drift_share,
        dataset_drift=bool(features) and drifted / len(features) >= drift_share,
    )


def _features(reference: Profile, current: Profile) -> Iterator[tuple[str, str, _Hist, _Hist]]:
    refs, curs = _histograms(reference), _histograms(current)
    empty = _hist(np.array([]), np.array([], np.int64))
    for kind, name in sorted(refs.keys() | curs.keys()):
        ref, cur = refs.get((kind, name), empty), curs.get((kind, name), empty)
        if ref.size and cur.size:
            yield kind, name, ref, cur


def _histograms(profile: Profile) -> dict[tuple[str, str], _Hist]:
    categorical = {
        ("categorical", name): _hist(np.array(list(counts), str), np.array(list(counts.values()), np.int64))
        for name, counts in profile.categorical.items()
    }
    numeric = {("numeric", name): _numeric(pairs) for name, pairs in profile.numeric.items()}
    return categorical | numeric


def _numeric(pairs: list[tuple[float, int]]) -> _Hist:
    """Infinite and NaN values are dropped, as Evidently drops them before testing (data_drift.py)."""
    values = np.array([value for value, _ in pairs], float)
    counts = np.array([count for _, count in pairs], np.int64)
    finite = np.isfinite(values)
    return _hist(values[finite], counts[finite])


def _hist(values: np.ndarray, counts: np.ndarray) -> _Hist:
    """Sorted distinct values with positive counts, repeated values added up."""
    keys, index = np.unique(values[counts > 0], return_inverse=True)
    summed = np.zeros(len(keys), np.int64)
    np.add.at(summed, index, counts[counts > 0])
    return _Hist(keys, summed)


def _shift(kind: str, feature: str, ref: _Hist, cur: _Hist) -> FeatureShift:
    test = _default_test(kind, ref, cur)
    run, threshold, drifts = _TESTS[test]
    score = float(run(ref, cur))
    psi = _psi(kind, ref, cur)
    return FeatureShift(
        feature=feature,
        kind=kind,
        test=test,
        score=score,
        threshold=threshold,
        drifted=bool(drifts(score, threshold)),
        psi=psi,
        psi_drifted=psi >= PSI,
        reference_size=ref.size,
        current_size=cur.size,
    )


def _default_test(kind: str, ref: _Hist, cur: _Hist) -> str:
    """Evidently's ``_get_default_stattest`` (registry.py) for numerical and categorical columns."""
    n_values = len(_keys(ref, cur))
    if ref.size <= SMALL:
        if kind == "numeric" and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    return "wasserstein" if kind == "numeric" and n_values > 5 else "jensenshannon"


def _keys(ref: _Hist, cur: _Hist) -> np.ndarray:
    return np.union1d(ref.values, cur.values)


def _counts_over(hist: _Hist, keys: np.ndarray) -> np.ndarray:
    """The histogram's counts laid over ``keys`` (a sorted superset of its values), zero elsewhere."""
    counts = np.zeros(len(keys), np.int64)
    counts[np.searchsorted(keys, hist.values)] = hist.counts
    return counts


def _shares(hist: _Hist, keys: np.ndarray) -> np.ndarray:
    return _counts_over(hist, keys) / hist.size


def _ks(ref: _Hist, cur: _Hist) -> float:
    return stats.ks_2samp(ref.rows(), cur.rows()).pvalue


def _chisquare(ref: _Hist, cur: _Hist) -> float:
    """chisquare_stattest.py: current counts against reference counts scaled to the current size."""
    keys = _keys(ref, cur)
    expected = _counts_over(ref, keys) * (cur.size / ref.size)
    with np.errstate(divide="ignore"):  # a category new in current: statistic inf, p-value 0
        return stats.chisquare(_counts_over(cur, keys), expected).pvalue


def _z(ref: _Hist, cur: _Hist) -> float:
    """z_stattest.py: two-proportion z-test on "not the smallest value", two-sided."""
    keys = _keys(ref, cur)
    if len(keys) == 1:
        return 1.0
    n1, n2 = ref.size, cur.size
    p1 = float(n1 - _counts_over(ref, keys)[0]) / n1
    p2 = float(n2 - _counts_over(cur, keys)[0]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return 2 * (1 - stats.norm.cdf(np.abs(z)))


def _wasserstein(ref: _Hist, cur: _Hist) -> float:
    """wasserstein_distance_norm.py: the distance over the reference's population std, at least 0.001."""
    mean = np.average(ref.values, weights=ref.counts)
    std = np.sqrt(np.average((ref.values - mean) ** 2, weights=ref.counts))
    return stats.wasserstein_distance(ref.values, cur.values, ref.counts, cur.counts) / max(float(std), 0.001)


def _jensenshannon(ref: _Hist, cur: _Hist) -> float:
    """jensenshannon.py: over the shares of every value (natural log, empty values left at zero).

    For near-identical shares rounding can make the squared distance slightly negative, and scipy's
    square root then NaN; that is reported as 0.
    """
    keys = _keys(ref, cur)
    with np.errstate(invalid="ignore"):
        score = distance.jensenshannon(_shares(ref, keys), _shares(cur, keys))
    return 0.0 if np.isnan(score) else score


def _psi(kind: str, ref: _Hist, cur: _Hist) -> float:
    """psi.py: sum((ref - cur) * ln(ref / cur)) over the bins of utils.get_binned_data."""
    ref_shares, cur_shares = (_fill_empty(shares) for shares in _binned(kind, ref, cur))
    return float(np.sum((ref_shares - cur_shares) * np.log(ref_shares / cur_shares)))


def _binned(kind: str, ref: _Hist, cur: _Hist) -> tuple[np.ndarray, np.ndarray]:
    """get_binned_data: Sturges bins for numeric features with over 20 reference values, else per value."""
    if kind == "numeric" and len(ref.values) > 20:
        edges = _sturges_edges(ref, cur)
        return tuple(np.histogram(h.values, edges, weights=h.counts)[0] / h.size for h in (ref, cur))
    keys = _keys(ref, cur)
    return _shares(ref, keys), _shares(cur, keys)


def _sturges_edges(ref: _Hist, cur: _Hist) -> np.ndarray:
    """``np.histogram_bin_edges(rows of both, bins="sturges")`` without the rows: numpy's bin width
    ptp / (log2(n) + 1), then ceil(ptp / width) equal bins from the minimum to the maximum."""
    values = np.concatenate([ref.values, cur.values])
    ptp = values.max() - values.min()
    width = ptp / (np.log2(ref.size + cur.size) + 1.0)
    return np.histogram_bin_edges(values, bins=int(np.ceil(ptp / width)))


def _fill_empty(shares: np.ndarray) -> np.ndarray:
    """Empty bins get 0.0001, or a millionth of the smallest share when that is 0.0001 or less."""
    smallest = shares[shares != 0].min()
    return np.where(shares == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001, shares)


# test -> (score, threshold, drifted); Evidently's ks alone counts a p-value equal to the threshold.
_TESTS = {
    "ks": (_ks, P_VALUE, operator.le),
    "chisquare": (_chisquare, P_VALUE, operator.lt),
    "z": (_z, P_VALUE, operator.lt),
    "wasserstein": (_wasserstein, DISTANCE, operator.ge),
    "jensenshannon": (_jensenshannon, DISTANCE, operator.ge),
}
