"""The compiled passes' shared arithmetic, held to numpy: the features they compute equal the
earlier whole-matrix numpy code's to the bit only if each sum is taken in numpy's order."""

import numpy as np
import pytest

from services.predict.feature_math import mean_of_smallest, median_of_sorted, numpy_sum, sort_into


@pytest.mark.parametrize("width", [1, 2, 5, 7, 8, 9, 15, 16, 17, 23, 40, 63, 64, 65, 128])
def test_numpy_sum__equals_numpy_row_sums_bit_for_bit(width):
    rng = np.random.default_rng(width)
    rows = rng.normal(size=(500, width)) * rng.uniform(1, 1e6, size=(500, 1))
    counts = rng.integers(0, width + 1, size=500)
    rows[np.arange(width)[None, :] >= counts[:, None]] = 0.0  # zero padding, as the passes use
    expected = rows.sum(axis=1)
    got = np.array([numpy_sum(row, width) for row in rows])
    assert np.array_equal(got, expected)
    # a sequential sum differs for some rows: the test can tell the orders apart
    if width >= 9:
        sequential = np.array([sum(row.tolist()) for row in rows])
        assert not np.array_equal(sequential, expected)


def test_sort_median_and_mean_of_smallest__as_numpy():
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 10, 40):
        values = rng.normal(size=n)
        out = np.empty(n)
        sort_into(out, values, n)
        assert np.array_equal(out, np.sort(values))
        assert median_of_sorted(out, n) == (out[(n - 1) // 2] + out[n // 2]) / 2
        for keep in (0, 1, n):
            k = max(keep, 1)
            assert mean_of_smallest(out, keep) == np.cumsum(out)[k - 1] / k
