"""The one alert rule: episodes (start, reminder, all-clear, lapse) from screened windows, the same
whether computed over stored windows or incrementally as they arrive in any order."""

import itertools
import random

import pytest

from services.alerts import (
    ALL_CLEAR,
    LAPSED,
    REMINDER,
    STARTED,
    AlertSettings,
    EpisodeTracker,
    Window,
    episode_events,
    ongoing_episode_start,
)

W = 10_000  # one window, ms
RULE = AlertSettings(k=5, n=6, max_age_s=3600, reminder_every_s=600, clear_after_regular=6,
                     lapse_after_s=1800)


def stream(statuses: str, start_ms: int = 0, step_ms: int = W) -> list[Window]:
    """'i' irregular, 'r' regular, '-' insufficient data; one window every step_ms."""
    names = {"i": "irregular", "r": "regular", "-": "insufficient_data"}
    return [Window(start_ms + i * step_ms, names[c], f"rec-{start_ms + i * step_ms}")
            for i, c in enumerate(statuses)]


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_one_episode_one_alert_then_all_clear():
    events = episode_events(stream("riiiii" + "i" * 30 + "r" * 6), RULE)
    assert kinds(events) == [STARTED, ALL_CLEAR]
    started = events[0]
    assert (started.window_start_ms, started.irregular_count, started.window_count) == (5 * W, 5, 6)
    assert events[1].episode_start_ms == started.window_start_ms


def test_the_message_counts_are_the_rule_k_of_n():
    (started,) = episode_events(stream("iriiii"), RULE)
    assert (started.irregular_count, started.window_count) == (5, 6)


def test_a_reminder_at_most_every_interval_while_irregular_windows_keep_coming():
    minutes = 25  # 6 windows a minute
    events = episode_events(stream("i" * 6 * minutes), RULE)
    assert kinds(events) == [STARTED, REMINDER, REMINDER]
    gaps = [b.window_start_ms - a.window_start_ms for a, b in itertools.pairwise(events)]
    assert all(gap >= RULE.reminder_every_s * 1000 for gap in gaps)


def test_insufficient_windows_neither_count_nor_push_out():
    assert kinds(episode_events(stream("ii-i--i-ii"), RULE)) == [STARTED]
    assert episode_events(stream("i----" * 4), RULE) == []
    assert episode_events(stream("iiiii"), RULE) == []  # fewer than n: not yet "k of n"


def test_sparse_windows_minutes_apart_still_alert():
    events = episode_events(stream("iiiiii", step_ms=3 * 60_000), RULE)
    assert kinds(events) == [STARTED]


def test_windows_further_apart_than_max_age_never_combine():
    morning = stream("iii")
    evening = stream("iii", start_ms=8 * 3600_000)
    assert episode_events(morning + evening, RULE) == []


def test_an_episode_lapses_without_all_clear_when_data_stops():
    before = stream("iiiiii")
    after = stream("r", start_ms=6 * W + 2 * 3600_000)
    assert kinds(episode_events(before + after, RULE)) == [STARTED, LAPSED]
    assert ongoing_episode_start(before, RULE) == 5 * W
    assert ongoing_episode_start(before + after, RULE) is None


def _delivered(windows, batch, delay_every, rng=None):
    """Batches of `batch` windows; every `delay_every`-th batch arrives after the next one (a
    replica or a retry late); with rng, each batch is shuffled too."""
    batches = [windows[i:i + batch] for i in range(0, len(windows), batch)]
    for i in range(0, len(batches) - 1, delay_every):
        batches[i], batches[i + 1] = batches[i + 1], batches[i]
    for chunk in batches:
        chunk = list(chunk)
        if rng:
            rng.shuffle(chunk)
        yield from chunk


def test_windows_arriving_late_give_the_same_episodes():
    windows = stream("r" * 5 + "iiriiiii" + "i" * 70 + "r" * 6 + "iiiiii" + "r" * 8)
    expected = episode_events(windows, RULE)
    assert kinds(expected) == [STARTED, REMINDER, ALL_CLEAR, STARTED, ALL_CLEAR]
    for delay_every in (2, 3, 5):
        tracker = EpisodeTracker(RULE, horizon_ms=30 * W)
        got = [e for w in _delivered(windows, 4, delay_every) for e in tracker.observe("p", w)]
        assert [e.key for e in got] == [e.key for e in expected]
        assert kinds(got) == kinds(expected)


def test_shuffled_arrival_never_repeats_a_notice():
    windows = stream("r" * 5 + "i" * 80 + "r" * 6 + "i" * 6 + "r" * 8)
    rng = random.Random(7)
    for _ in range(20):
        tracker = EpisodeTracker(RULE, horizon_ms=30 * W)
        got = [e for w in _delivered(windows, 12, 2, rng) for e in tracker.observe("p", w)]
        keys = [e.key for e in got]
        assert len(keys) == len(set(keys))
        assert kinds(got).count(STARTED) == 2


def test_a_duplicate_or_too_late_window_changes_nothing():
    tracker = EpisodeTracker(RULE, horizon_ms=3 * W)
    windows = stream("iiiiii" + "r" * 10)
    events = [e for w in windows for e in tracker.observe("p", w)]
    assert kinds(events) == [STARTED, ALL_CLEAR]
    assert tracker.observe("p", windows[5]) == []  # duplicate
    assert tracker.observe("p", Window(W // 2, "irregular")) == []  # behind the folded part
    assert tracker.too_late >= 1


def test_a_restored_tracker_resumes_without_repeating():
    first, second = EpisodeTracker(RULE, horizon_ms=4 * W), EpisodeTracker(RULE, horizon_ms=4 * W)
    windows = stream("iiiii" + "i" * 70 + "r" * 6)
    sent = [e for w in windows[:40] for e in first.observe("p", w)]
    second.restore("p", first.export("p"))
    sent += [e for w in windows[40:] for e in second.observe("p", w)]
    assert [(e.kind, e.window_start_ms) for e in sent] == \
           [(e.kind, e.window_start_ms) for e in episode_events(windows, RULE)]


def test_settings_refuse_an_impossible_rule():
    with pytest.raises(ValueError):
        AlertSettings(k=7, n=6)
    with pytest.raises(ValueError):
        AlertSettings(max_age_s=0)


class _AlwaysReplaying(EpisodeTracker):
    """The tracker as it was before windows in order stepped on from the tail's end state: every
    observation replays the whole tail."""

    def observe(self, patient, window):
        self._head.pop(patient, None)
        return super().observe(patient, window)


def test_in_order_windows_step_on__the_same_events_and_state_as_replaying_the_tail():
    """Windows mostly arrive in order, and those step on from the state the last replay ended
    in; the events returned, the open-episode flag and the exported state are those of
    replaying the whole tail every time, through late, duplicate, too-late and unreadable
    windows, lapses, and a roll-back to an earlier state half-way."""
    rng = random.Random(11)
    for run in range(40):
        statuses = "".join(rng.choice("iiiirr-") for _ in range(150))
        windows = stream(statuses, step_ms=W if run % 4 else 7 * W)  # some spread past lapses
        arrivals = list(_delivered(windows, rng.choice((1, 3, 8)), rng.choice((2, 4, 9)), rng))
        arrivals += rng.sample(windows, 10)  # duplicates, and windows by then too late
        fast, slow = EpisodeTracker(RULE, horizon_ms=5 * W), _AlwaysReplaying(RULE, 5 * W)
        saved = None
        for index, window in enumerate(arrivals):
            if index == len(arrivals) // 3:
                saved = fast.export("p")
            if index == len(arrivals) // 2:  # a failed batch rolled back (notification.py)
                fast.restore("p", saved)
                slow.restore("p", saved)
            assert fast.observe("p", window) == slow.observe("p", window)
            assert fast.episode_open("p") == slow.episode_open("p")
        assert fast.export("p") == slow.export("p")
        assert fast.too_late == slow.too_late
