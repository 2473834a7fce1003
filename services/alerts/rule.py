"""The alert rule, in one place: episodes of irregular rhythm from a patient's screened windows.

In one sentence: an episode starts at the first window at which k of the patient's last n
readable windows (n of them, all within max_age_s of it) are irregular; while it lasts, a new irregular
window brings a reminder if the last notice is reminder_every_s old; it ends with an all-clear
after clear_after_regular readable windows in a row are regular, or lapses silently when no
readable window came for lapse_after_s. Windows count in window-time order whatever order they
arrive in; "insufficient_data" windows are judged neither way and push nothing out.

`episode_events` is the rule over a patient's windows sorted by time: the gateway runs it over
the stored windows; the notification peers run it incrementally (EpisodeTracker), so both say
the same for the same windows."""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from services.alerts.settings import AlertSettings

STARTED, REMINDER, ALL_CLEAR, LAPSED = "episode_started", "reminder", "all_clear", "lapsed"
NOTIFIED = (STARTED, REMINDER, ALL_CLEAR)  # the events that send an email
JUDGED = ("regular", "irregular")


@dataclass(frozen=True)
class Window:
    start_ms: int
    status: str  # "regular" | "irregular" | "insufficient_data" (anything else: not judged)
    record_id: str = ""


@dataclass(frozen=True)
class Event:
    kind: str
    window_start_ms: int  # the window that caused it (for LAPSED: the first one after the gap)
    episode_start_ms: int  # the window that started the episode it belongs to
    irregular_count: int  # of the last n readable windows, when it happened
    window_count: int
    record_id: str = ""
    episode: int = 0  # the patient's episodes counted from the first window this rule saw
    notice: int = 0  # reminders of this episode before this one

    @property
    def key(self) -> str:
        """Stable across recomputations: a late window may move an episode's first window, but
        not which episode it is, so the same notice is sent once."""
        return f"{self.episode}/{self.kind}/{self.notice}"


@dataclass
class _State:
    recent: list[tuple[int, bool]] = field(default_factory=list)  # readable, oldest first, <= n
    episode_start_ms: int | None = None
    last_notice_ms: int = 0
    regular_run: int = 0
    last_readable_ms: int | None = None
    episodes: int = 0  # started so far; the open one (if any) is number `episodes`
    reminders: int = 0  # of the open episode


def _step(state: _State, window: Window, rule: AlertSettings) -> Iterator[Event]:
    t = window.start_ms
    if window.status not in JUDGED:
        return
    if (state.episode_start_ms is not None and state.last_readable_ms is not None
            and t - state.last_readable_ms > rule.lapse_after_s * 1000):
        yield _event(LAPSED, state, t, "")
        _end(state)
    irregular = window.status == "irregular"
    state.recent = [(s, f) for s, f in state.recent if s >= t - rule.max_age_s * 1000]
    state.recent = (state.recent + [(t, irregular)])[-rule.n:]
    state.last_readable_ms = t
    if state.episode_start_ms is None:
        if len(state.recent) == rule.n and sum(f for _, f in state.recent) >= rule.k:
            state.episode_start_ms = state.last_notice_ms = t
            state.regular_run = state.reminders = 0
            state.episodes += 1
            yield _event(STARTED, state, t, window.record_id)
        return
    if irregular:
        state.regular_run = 0
        if t - state.last_notice_ms >= rule.reminder_every_s * 1000:
            state.last_notice_ms = t
            state.reminders += 1
            yield _event(REMINDER, state, t, window.record_id)
        return
    state.regular_run += 1
    if state.regular_run >= rule.clear_after_regular:
        yield _event(ALL_CLEAR, state, t, window.record_id)
        _end(state)


def _event(kind: str, state: _State, t: int, record_id: str) -> Event:
    return Event(kind, t, state.episode_start_ms, sum(f for _, f in state.recent),
                 len(state.recent), record_id, state.episodes,
                 state.reminders if kind == REMINDER else 0)


def _end(state: _State) -> None:
    state.episode_start_ms = None
    state.recent = []
    state.regular_run = 0


def episode_events(windows: Iterable[Window], rule: AlertSettings) -> list[Event]:
    """Every event of one patient's windows (sorted here by window start; duplicates of a start
    count once)."""
    state, events, seen = _State(), [], set()
    for window in sorted(windows, key=lambda w: w.start_ms):
        if window.start_ms in seen:
            continue
        seen.add(window.start_ms)
        events.extend(_step(state, window, rule))
    return events


def episode_starts(windows: Iterable[Window], rule: AlertSettings) -> int:
    """How many episodes begin in one patient's windows: the alerts they would be sent (the
    screen's evaluation counts false and true alerts with this, the peers send them)."""
    return sum(event.kind == STARTED for event in episode_events(windows, rule))


def ongoing_episode_start(windows: Iterable[Window], rule: AlertSettings) -> int | None:
    """Start of the episode still open after these windows, if any."""
    state = _State()
    for window in sorted({w.start_ms: w for w in windows}.values(), key=lambda w: w.start_ms):
        list(_step(state, window, rule))
    return state.episode_start_ms


class EpisodeTracker:
    """The rule applied as windows arrive, in any order, for one consumer (a notification peer).

    Per patient it keeps the windows of the last `horizon` (window time; default the rule's
    reorder_s) and the rule's state before them (which carries the k-of-n history); a late
    window re-runs the rule over that tail, so it takes its place in time order, and a window in
    order steps on from where the last run ended (the same result); each observation returns
    the events not returned before. Older windows fold into the
    state for good; a window older than the folded part is too late to change anything (counted
    in `too_late`). State is plain data (`export`/`restore`) so a restart resumes it."""

    def __init__(self, rule: AlertSettings, horizon_ms: int | None = None):
        self.rule = rule
        self.horizon_ms = horizon_ms if horizon_ms is not None else int(rule.reorder_s * 1000)
        self._settled: dict[str, _State] = {}
        self._open: dict[str, bool] = {}  # an episode is open after the patient's latest window
        self._tail: dict[str, list[tuple[int, str, str]]] = {}
        self._returned: dict[str, set[str]] = {}
        # The state a replay of the whole tail ends in: a window after the tail's last (windows
        # mostly come in order) steps on from it, the same as replaying the tail with it at
        # the end, instead of the tail's ~12 windows over again
        self._head: dict[str, _State] = {}
        self.too_late = 0

    def observe(self, patient: str, window: Window) -> list[Event]:
        settled = self._settled.setdefault(patient, _State())
        tail = self._tail.setdefault(patient, [])
        if settled.last_readable_ms is not None and window.start_ms <= settled.last_readable_ms:
            self.too_late += 1
            return []
        if any(start == window.start_ms for start, _, _ in tail):
            return []
        entry = (window.start_ms, window.status, window.record_id)
        head = self._head.get(patient)
        if head is not None and tail and window.start_ms > tail[-1][0]:
            tail.append(entry)
            events = list(_step(head, window, self.rule))
            self._open[patient] = head.episode_start_ms is not None
        else:  # out of order (or nothing to step on from): the tail again, in time order
            insort(tail, entry)
            events = self._replay(patient)
        self._fold(patient)
        returned = self._returned.setdefault(patient, set())
        fresh = [e for e in events if e.key not in returned]
        returned.update(e.key for e in fresh)
        return fresh

    def _replay(self, patient: str) -> list[Event]:
        state = replace(self._settled[patient], recent=list(self._settled[patient].recent))
        events = []
        for start, status, record_id in self._tail[patient]:
            events.extend(_step(state, Window(start, status, record_id), self.rule))
        self._open[patient] = state.episode_start_ms is not None
        self._head[patient] = state
        return events

    def _fold(self, patient: str) -> None:
        tail = self._tail[patient]
        newest = tail[-1][0]
        keep_from = next((i for i, (s, _, _) in enumerate(tail)
                          if s >= newest - self.horizon_ms), len(tail))
        state = self._settled[patient]
        for start, status, record_id in tail[:keep_from]:
            list(_step(state, Window(start, status, record_id), self.rule))
        del tail[:keep_from]
        # Only the open episode (and later ones) can still be recomputed: forget older keys.
        self._returned[patient] = {key for key in self._returned.get(patient, ())
                                   if int(key.split("/", 1)[0]) >= state.episodes}

    def knows(self, patient: str) -> bool:
        return patient in self._settled

    def episode_open(self, patient: str) -> bool:
        """Whether an episode is under way after the patient's latest window (only then can a
        regular window lead to a notice: the all-clear)."""
        if patient in self._open:
            return self._open[patient]
        state = self._settled.get(patient)
        return state is not None and state.episode_start_ms is not None

    def latest_start(self, patient: str) -> int | None:
        """The newest window start seen for the patient (readable or not, kept or folded)."""
        tail = self._tail.get(patient)
        if tail:
            return tail[-1][0]
        state = self._settled.get(patient)
        return state.last_readable_ms if state else None

    def forget(self, patient: str) -> None:
        for table in (self._settled, self._tail, self._returned, self._open, self._head):
            table.pop(patient, None)

    def export(self, patient: str) -> dict:
        state = self._settled.get(patient, _State())
        return {"settled": {"recent": state.recent, "episode_start_ms": state.episode_start_ms,
                            "last_notice_ms": state.last_notice_ms,
                            "regular_run": state.regular_run,
                            "last_readable_ms": state.last_readable_ms,
                            "episodes": state.episodes, "reminders": state.reminders},
                "tail": self._tail.get(patient, []),
                "returned": sorted(self._returned.get(patient, ()))}

    def restore(self, patient: str, exported: dict) -> None:
        settled = exported["settled"]
        self._settled[patient] = _State([tuple(r) for r in settled["recent"]],
                                        settled["episode_start_ms"], settled["last_notice_ms"],
                                        settled["regular_run"], settled["last_readable_ms"],
                                        settled["episodes"], settled["reminders"])
        self._tail[patient] = [tuple(w) for w in exported["tail"]]
        self._returned[patient] = set(exported["returned"])
        self._head.pop(patient, None)  # the next observation replays the restored tail

    def patients(self) -> list[str]:
        return list(self._settled)
