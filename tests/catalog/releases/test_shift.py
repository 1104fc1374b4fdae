"""Shift between profiles: the scores scipy and Evidently compute on the raw rows, from value counts only."""

from collections import Counter

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from catalog.releases.schemas import FeatureShift, Profile
from catalog.releases.shift import compare

EXACT = 1e-9


def _profile(categorical: dict | None = None, numeric: dict | None = None) -> Profile:
    """The profile of raw rows: value counts per feature, as build_profile stores them."""
    return Profile(
        records=0,
        annotations=0,
        categorical={name: dict(Counter(str(v) for v in rows)) for name, rows in (categorical or {}).items()},
        numeric={name: sorted(Counter(float(v) for v in rows).items()) for name, rows in (numeric or {}).items()},
    )


def _shift(kind: str, ref, cur) -> FeatureShift:
    (feature,) = compare(_profile(**{kind: {"f": ref}}), _profile(**{kind: {"f": cur}})).features
    assert (feature.reference_size, feature.current_size) == (len(ref), len(cur))
    return feature


def _normal(seed: int, n: int, loc: float = 0.0) -> np.ndarray:
    """Rounded, so values repeat and the profile really is a histogram."""
    return np.round(np.random.default_rng(seed).normal(loc, 10.0, n), 1)


def _choice(seed: int, n: int, values: str, p: list[float]) -> np.ndarray:
    return np.random.default_rng(seed).choice(list(values), n, p=p)


def _shares(ref, cur) -> tuple[np.ndarray, np.ndarray]:
    counts = Counter(ref), Counter(cur)
    keys = sorted(counts[0].keys() | counts[1].keys())
    return tuple(np.array([c[key] for key in keys]) / c.total() for c in counts)


# --- each test against scipy on the raw rows ------------------------------------------------


def test_few_reference_rows_of_many_values_take_the_ks_p_value():
    ref, cur = _normal(1, 500), _normal(2, 3000, loc=1.5)
    shift = _shift("numeric", ref, cur)
    assert shift.test == "ks" and shift.threshold == 0.05
    assert shift.score == pytest.approx(stats.ks_2samp(ref, cur).pvalue, abs=EXACT)
    assert shift.drifted == (shift.score <= 0.05)


def test_many_reference_rows_of_many_values_take_the_normed_wasserstein_distance():
    ref, cur = _normal(3, 5000), _normal(4, 4000, loc=2.0)
    shift = _shift("numeric", ref, cur)
    assert shift.test == "wasserstein" and shift.threshold == 0.1
    assert shift.score == pytest.approx(stats.wasserstein_distance(ref, cur) / np.std(ref), abs=EXACT)
    assert shift.drifted and shift.score >= 0.1


def test_the_regimes_change_after_1000_reference_rows_and_5_values():
    assert _shift("numeric", _normal(5, 1000), _normal(6, 50)).test == "ks"
    assert _shift("numeric", _normal(5, 1001), _normal(6, 50)).test == "wasserstein"
    rows = np.arange(1001)
    assert [_shift("numeric", rows[:n] % k, rows[:9] % k).test for k in (5, 6) for n in (1000, 1001)] == [
        "chisquare",
        "jensenshannon",
        "ks",
        "wasserstein",
    ]


def test_many_categorical_reference_rows_take_the_jensen_shannon_distance():
    ref = _choice(7, 5000, "abcd", [0.4, 0.3, 0.2, 0.1])
    cur = _choice(8, 2000, "abcde", [0.3, 0.3, 0.2, 0.1, 0.1])
    shift = _shift("categorical", ref, cur)
    assert shift.test == "jensenshannon"
    assert shift.score == pytest.approx(distance.jensenshannon(*_shares(ref, cur)), abs=EXACT)
    assert shift.drifted == (shift.score >= 0.1)


def test_many_numeric_reference_rows_of_few_values_take_the_jensen_shannon_distance():
    ref, cur = _choice(9, 3000, "12345", [0.2] * 5), _choice(10, 800, "12345", [0.3, 0.3, 0.2, 0.1, 0.1])
    ref, cur = ref.astype(float), cur.astype(float)
    shift = _shift("numeric", ref, cur)
    assert shift.test == "jensenshannon"
    assert shift.score == pytest.approx(distance.jensenshannon(*_shares(ref, cur)), abs=EXACT)


@pytest.mark.parametrize("kind", ["categorical", "numeric"])
def test_few_reference_rows_of_three_to_five_values_take_the_chisquare_p_value(kind):
    ref, cur = _choice(11, 300, "1234", [0.25] * 4), _choice(12, 700, "1234", [0.3, 0.3, 0.2, 0.2])
    shift = _shift(kind, ref, cur)
    ref_counts, cur_counts = (np.array([Counter(rows)[key] for key in "1234"]) for rows in (ref, cur))
    expected = stats.chisquare(cur_counts, ref_counts * len(cur) / len(ref)).pvalue
    assert shift.test == "chisquare"
    assert shift.score == pytest.approx(expected, abs=EXACT)
    assert shift.drifted == (shift.score < 0.05)


@pytest.mark.parametrize("kind", ["categorical", "numeric"])
def test_few_reference_rows_of_two_values_take_the_z_p_value(kind):
    ref, cur = _choice(13, 200, "01", [0.5, 0.5]), _choice(14, 150, "01", [0.65, 0.35])
    shift = _shift(kind, ref, cur)
    # The two-sided two-proportion z-test is the 2x2 chi-square test without continuity correction.
    table = [[np.sum(rows == "0"), np.sum(rows == "1")] for rows in (ref, cur)]
    assert shift.test == "z"
    assert shift.score == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, abs=EXACT)
    assert shift.drifted == (shift.score < 0.05)


# --- against Evidently itself ---------------------------------------------------------------

_SHARES_3, _SHARES_6 = [0.5, 0.3, 0.2], [0.3, 0.2, 0.2, 0.1, 0.1, 0.1]
CROSS_CHECKS = {
    "numeric ks": ("numeric", _normal(20, 700), _normal(21, 900, loc=0.8)),
    "numeric chisquare": ("numeric", _choice(22, 400, "123", _SHARES_3), _choice(23, 90, "123", [0.3, 0.3, 0.4])),
    "numeric z": ("numeric", _choice(24, 60, "01", [0.5, 0.5]), _choice(25, 80, "01", [0.5, 0.5])),
    "numeric ks, psi per value": ("numeric", np.round(_normal(26, 900) / 5), np.round(_normal(27, 300) / 5)),
    "numeric wasserstein": ("numeric", _normal(28, 4000), _normal(29, 6000, loc=1.0)),
    "numeric jensenshannon": ("numeric", _choice(30, 2500, "1234", [0.25] * 4), _choice(31, 100, "124", _SHARES_3)),
    "numeric wasserstein, no reference spread": ("numeric", np.full(1500, 5.0), _normal(32, 50)),
    "categorical chisquare": ("categorical", _choice(33, 900, "abc", _SHARES_3), _choice(34, 300, "abc", _SHARES_3)),
    "categorical chisquare, new category": (
        "categorical",
        _choice(35, 100, "abc", _SHARES_3),
        _choice(36, 99, "abcd", [0.25] * 4),
    ),
    "categorical z": ("categorical", _choice(37, 1000, "xy", [0.9, 0.1]), _choice(38, 20000, "xy", [0.8, 0.2])),
    "categorical z, one value": ("categorical", np.array(["x"] * 30), np.array(["x"] * 40)),
    "categorical jensenshannon, rare categories": (
        "categorical",
        np.array(["a"] * 9000 + ["b"] * 3000 + ["rare"]),  # shares below 0.0001: empty ones get a millionth of them
        np.array(["a"] * 8000 + ["b"] * 4000 + ["new"]),
    ),
    "categorical jensenshannon": (
        "categorical",
        _choice(39, 8000, "abcdef", _SHARES_6),
        _choice(40, 500, "bcdefg", _SHARES_6),
    ),
}


@pytest.mark.parametrize("case", CROSS_CHECKS)
def test_agrees_with_evidently(case):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("evidently")
    from evidently.legacy.calculations.stattests import get_stattest, psi_stat_test
    from evidently.legacy.core import ColumnType

    kind, ref, cur = CROSS_CHECKS[case]
    if kind == "numeric":
        ref, cur = ref.astype(float), cur.astype(float)
    ref_rows, cur_rows = pd.Series(ref), pd.Series(cur)
    column_type = ColumnType.Numerical if kind == "numeric" else ColumnType.Categorical
    stattest = get_stattest(ref_rows, cur_rows, column_type, None)
    expected = stattest(ref_rows, cur_rows, column_type, None)
    psi = psi_stat_test(ref_rows, cur_rows, column_type, None)

    shift = _shift(kind, ref, cur)
    assert shift.test == stattest.name
    assert shift.score == pytest.approx(expected.drift_score, abs=EXACT)
    assert (shift.drifted, shift.threshold) == (expected.drifted, expected.actual_threshold)
    assert shift.psi == pytest.approx(psi.drift_score, abs=EXACT)
    assert shift.psi_drifted == psi.drifted


def test_the_cross_checks_cover_every_test_and_both_psi_binnings():
    tests = {_shift(kind, ref, cur).test for kind, ref, cur in CROSS_CHECKS.values()}
    assert tests == {"ks", "chisquare", "z", "wasserstein", "jensenshannon"}
    numeric_references = [len(set(ref)) for kind, ref, _ in CROSS_CHECKS.values() if kind == "numeric"]
    assert max(numeric_references) > 20 and min(numeric_references) <= 20


# --- verdicts and degenerate cases ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rows", "test", "score"),
    [
        ("numeric", _normal(50, 400), "ks", 1.0),
        ("numeric", _normal(51, 3000), "wasserstein", 0.0),
        ("categorical", _choice(52, 300, "abc", [0.5, 0.3, 0.2]), "chisquare", 1.0),
        ("categorical", _choice(53, 300, "ab", [0.5, 0.5]), "z", 1.0),
        ("categorical", _choice(54, 3000, "abc", [0.5, 0.3, 0.2]), "jensenshannon", 0.0),
    ],
)
def test_identical_profiles_have_not_shifted(kind, rows, test, score):
    shift = _shift(kind, rows, rows)
    assert (shift.test, shift.drifted, shift.psi, shift.psi_drifted) == (test, False, 0.0, False)
    assert shift.score == pytest.approx(score, abs=EXACT)


def test_a_clearly_shifted_profile_has_drifted():
    reference = _profile({"task_type": _choice(60, 2000, "abc", [0.6, 0.3, 0.1])}, {"length": _normal(61, 600)})
    current = _profile({"task_type": _choice(62, 2000, "abc", [0.1, 0.3, 0.6])}, {"length": _normal(63, 600, 30)})
    shift = compare(reference, current)
    assert [(f.feature, f.test, f.drifted, f.psi_drifted) for f in shift.features] == [
        ("task_type", "jensenshannon", True, True),
        ("length", "ks", True, True),
    ]
    assert (shift.drifted_features, shift.dataset_drift, shift.drift_share) == (2, True, 0.5)


def _some_drifted(drifted: int, features: int) -> tuple[Profile, Profile]:
    same, moved = _choice(70, 500, "ab", [0.5, 0.5]), _choice(71, 500, "ab", [0.9, 0.1])
    names = [f"f{i:02d}" for i in range(features)]
    current = {name: moved if name < names[drifted] else same for name in names}
    return _profile({name: same for name in names}), _profile(current)


@pytest.mark.parametrize(
    ("drifted", "features", "drift_share", "dataset_drift"),
    [(3, 10, 0.2, True), (3, 10, 0.3, True), (3, 10, 0.31, False), (3, 10, 0.5, False), (7, 25, 0.28, True)],
)
def test_the_dataset_drifted_when_the_share_of_drifted_features_reaches_drift_share(
    drifted, features, drift_share, dataset_drift
):
    # Evidently divides: 7 / 25 >= 0.28, though 7 >= 0.28 * 25 is false (0.28 * 25 == 7.000000000000001).
    shift = compare(*_some_drifted(drifted, features), drift_share=drift_share)
    assert [f.drifted for f in shift.features] == [True] * drifted + [False] * (features - drifted)
    assert (shift.drifted_features, shift.drift_share, shift.dataset_drift) == (drifted, drift_share, dataset_drift)


def test_features_come_categorical_then_numeric_by_name_and_only_when_both_sides_observe_them():
    reference = _profile(
        {"split": ["train", "test"], "domain": ["law"], "only_here": ["x"]},
        {"turns": [1, 2], "length": [3.0, 4.0], "nan_only": [np.nan]},
    )
    current = _profile(
        {"domain": ["law", "med"], "split": ["train"]}, {"length": [5.0], "turns": [1], "nan_only": [1.0]}
    )
    current.categorical["only_here"] = {"x": 0}
    shift = compare(reference, current)
    assert [(f.kind, f.feature) for f in shift.features] == [
        ("categorical", "domain"),
        ("categorical", "split"),
        ("numeric", "length"),
        ("numeric", "turns"),
    ]


def test_infinite_and_nan_values_are_dropped_like_evidently_drops_them():
    ref = Profile(records=0, annotations=0, categorical={}, numeric={"f": [(1.0, 5), (float("inf"), 2), (2.0, 5)]})
    cur = Profile(records=0, annotations=0, categorical={}, numeric={"f": [(1.0, 5), (float("nan"), 9), (2.0, 5)]})
    (shift,) = compare(ref, cur).features
    assert (shift.test, shift.reference_size, shift.current_size, shift.score) == ("z", 10, 10, 1.0)


def test_a_category_new_in_current_gives_chisquare_p_value_zero():
    shift = _shift("categorical", list("aabbcc"), list("aabbcd"))
    assert (shift.test, shift.score, shift.drifted) == ("chisquare", 0.0, True)


def test_a_reference_without_spread_is_normed_by_a_thousandth():
    ref, cur = np.full(2000, 5.0), np.arange(10.0)
    shift = _shift("numeric", ref, cur)
    assert shift.test == "wasserstein"
    assert shift.score == pytest.approx(stats.wasserstein_distance(ref, cur) / 0.001, abs=EXACT)


def test_no_nan_reaches_the_dto_when_rounding_makes_the_jensen_shannon_distance_nan():
    # scipy returns NaN for these near-identical shares: the squared distance rounds below zero.
    ref, cur = ["a"] * 820853 + ["b"] * 99, ["a"] * 820854 + ["b"] * 99
    assert np.isnan(distance.jensenshannon(*_shares(ref, cur)))
    (shift,) = compare(_profile({"f": ref}), _profile({"f": cur})).features
    assert (shift.test, shift.score, shift.drifted) == ("jensenshannon", 0.0, False)
    assert np.isfinite(shift.psi)


def test_nothing_to_compare_is_no_drift():
    assert compare(_profile(), _profile()).model_dump() == {
        "features": [],
        "drifted_features": 0,
        "drift_share": 0.5,
        "dataset_drift": False,
    }
