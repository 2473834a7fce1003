"""The change stream: live events per owner, resumable from a cursor."""

import threading

from records_support import DEVICE, OTHER, OWNER, window_payload


def _collect(store, owner, n, since=None):
    """Start watching in a thread; returns (events list, done event, stop event, started)."""
    events, done, stop = [], threading.Event(), threading.Event()

    def run():
        for change in store.watch(owner, since, stop=stop):
            events.append(change)
            if len(events) >= n:
                break
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return events, done, stop, thread


def test_watch__live_changes_of_one_owner_in_order(store):
    store.put_window(OWNER, DEVICE, 0, window_payload())
    cursor = store.latest_cursor(OWNER)  # a cursor makes the start exact, however late we attach
    events, done, stop, thread = _collect(store, OWNER, 3, since=cursor)
    store.put_window(OTHER, "12D3KooWOther", 0, window_payload())  # another owner: not seen
    r1 = store.put_window(OWNER, DEVICE, 10_000, window_payload(1))
    store.set_contacts(OWNER, ["pat@example.org"])
    store.erase(r1.record_id)
    finished = done.wait(20)
    stop.set()
    thread.join(5)
    assert finished
    assert [(e.kind, e.record_id) for e in events] == [
        ("window_added", r1.record_id),
        ("contacts_set", None),
        ("window_erased", r1.record_id),
    ]
    assert all(e.owner == OWNER for e in events)


def test_watch__without_cursor__only_new_changes(store):
    old = store.put_window(OWNER, DEVICE, 0, window_payload())
    events, done, stop, thread = _collect(store, OWNER, 1)
    # keep writing until the watcher (attached at some point) reports one of them
    for _ in range(200):
        store.set_contacts(OWNER, ["pat@example.org"])
        if done.wait(0.1):
            break
    stop.set()
    thread.join(5)
    assert [e.kind for e in events] == ["contacts_set"]
    assert old.record_id not in {e.record_id for e in events}


def test_watch__resume_from_cursor_replays_then_follows(store):
    first = store.put_window(OWNER, DEVICE, 0, window_payload())
    cursor = store.latest_cursor(OWNER)
    second = store.put_window(OWNER, DEVICE, 10_000, window_payload(1))  # after the cursor
    events, done, _stop, thread = _collect(store, OWNER, 2, since=cursor)
    third = store.put_window(OWNER, DEVICE, 20_000, window_payload(2))
    assert done.wait(20)
    thread.join(5)
    assert [e.record_id for e in events] == [second.record_id, third.record_id]
    assert first.record_id not in {e.record_id for e in events}


def test_watch__stop_event_ends_the_stream(store):
    events, done, stop, _thread = _collect(store, OWNER, 10)
    stop.set()
    assert done.wait(20)
    assert events == []


def test_changes_since__cursor_pages(store):
    for i in range(5):
        store.put_window(OWNER, DEVICE, i * 10_000, window_payload(i))
    page1 = store.changes_since(OWNER, None, limit=2)
    page2 = store.changes_since(OWNER, page1[-1].cursor, limit=10)
    assert len(page1) == 2 and len(page2) == 3
    assert page2[-1].cursor == store.latest_cursor(OWNER)
