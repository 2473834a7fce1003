import pytest

from services.predict.alert_policy import KOfNAlertPolicy
from services.predict.base import Prediction


def _prediction(status: str) -> Prediction:
    known = status != "insufficient_data"
    return Prediction(
        status=status,
        probability=(0.9 if status == "irregular" else 0.1) if known else None,
        input_kind="hr" if known else None,
        model_sha256="m" * 64,
        input_sha256="i" * 64,
        reason=None if known else "too few readings",
    )


IRREGULAR, REGULAR, MISSING = (
    _prediction("irregular"),
    _prediction("regular"),
    _prediction("insufficient_data"),
)


def _feed(policy, user, statuses, start=0):
    return [policy.observe(user, start + i * 10_000, p) for i, p in enumerate(statuses)]


def test_policy__single_irregular_window__no_alert():
    assert _feed(KOfNAlertPolicy(k=2, n=3), "u", [IRREGULAR]) == [None]


def test_policy__k_of_n_irregular__alerts_once_with_screen_message():
    alerts = _feed(KOfNAlertPolicy(k=3, n=4), "u", [IRREGULAR, REGULAR, IRREGULAR, IRREGULAR])
    assert alerts[:3] == [None, None, None]
    alert = alerts[3]
    assert (alert.user_id, alert.window_start_ms) == ("u", 30_000)
    assert (alert.irregular_count, alert.window_count) == (3, 4)
    assert "screen" in alert.message and "not a diagnosis" in alert.message


def test_policy__irregular_windows_spread_beyond_n__no_alert():
    statuses = [IRREGULAR, REGULAR, REGULAR, IRREGULAR, REGULAR, REGULAR, IRREGULAR]
    assert all(a is None for a in _feed(KOfNAlertPolicy(k=2, n=3), "u", statuses))


def test_policy__insufficient_data__neither_counts_nor_evicts():
    alerts = _feed(KOfNAlertPolicy(k=2, n=2), "u", [IRREGULAR, MISSING, MISSING, IRREGULAR])
    assert alerts[:3] == [None, None, None]
    assert alerts[3] is not None and alerts[3].window_count == 2


def test_policy__after_alert__needs_k_fresh_irregular_windows():
    alerts = _feed(KOfNAlertPolicy(k=2, n=3), "u", [IRREGULAR, IRREGULAR, IRREGULAR, IRREGULAR])
    assert [a is not None for a in alerts] == [False, True, False, True]


def test_policy__users_are_independent():
    policy = KOfNAlertPolicy(k=2, n=2)
    assert policy.observe("a", 0, IRREGULAR) is None
    assert policy.observe("b", 0, IRREGULAR) is None
    assert policy.observe("a", 10_000, IRREGULAR).user_id == "a"


def test_policy__replayed_window__ignored():
    policy = KOfNAlertPolicy(k=2, n=3)
    assert policy.observe("u", 10_000, IRREGULAR) is None
    assert policy.observe("u", 10_000, IRREGULAR) is None  # duplicate delivery
    assert policy.observe("u", 0, IRREGULAR) is None  # late replay of an older window
    assert policy.observe("u", 20_000, IRREGULAR) is not None


@pytest.mark.parametrize(("k", "n"), [(0, 3), (4, 3), (-1, 1)])
def test_policy__impossible_k_n__rejected(k, n):
    with pytest.raises(ValueError, match="k-of-n"):
        KOfNAlertPolicy(k=k, n=n)
