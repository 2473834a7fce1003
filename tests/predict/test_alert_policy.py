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


def test_policy__windows_older_than_max_age__forgotten():
    policy = KOfNAlertPolicy(k=2, n=3, max_age_ms=60_000)
    assert policy.observe("u", 0, IRREGULAR) is None
    assert policy.observe("u", 3_600_000, IRREGULAR) is None  # an hour later: the first is stale
    alert = policy.observe("u", 3_610_000, IRREGULAR)
    assert alert is not None and alert.window_count == 2


@pytest.mark.parametrize("max_age_ms", [0, -5])
def test_policy__non_positive_max_age__rejected(max_age_ms):
    with pytest.raises(ValueError, match="max_age_ms"):
        KOfNAlertPolicy(k=1, n=1, max_age_ms=max_age_ms)


@pytest.mark.parametrize(("k", "n"), [(0, 3), (4, 3), (-1, 1)])
def test_policy__impossible_k_n__rejected(k, n):
    with pytest.raises(ValueError, match="k-of-n"):
        KOfNAlertPolicy(k=k, n=n)


def test_policy__from_settings__uses_configured_k_n_and_age():
    from services.predict.settings import PredictSettings

    policy = KOfNAlertPolicy.from_settings(
        PredictSettings(alert_k=2, alert_n=4, alert_max_age_ms=30_000)
    )
    assert (policy.k, policy.n, policy.max_age_ms) == (2, 4, 30_000)
