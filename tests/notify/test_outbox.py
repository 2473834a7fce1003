import email

import pytest

from services.notify import (
    Email,
    NotifierRejected,
    NotifierUnavailable,
    NotifySettings,
    message_id_for,
    open_notifier,
)


def make_email(key="k1", html="<p>Hello</p>"):
    return Email(to=("patient@example.org",), subject="A request", text="Hello",
                 html=html, message_id=message_id_for(key))


def test_outbox__send__writes_one_eml_with_both_bodies(tmp_path):
    notifier = open_notifier(NotifySettings(outbox_dir=tmp_path))
    notifier.send(make_email())
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["Message-ID"] == message_id_for("k1")
    assert parsed["To"] == "patient@example.org"
    kinds = {part.get_content_type() for part in parsed.walk()}
    assert {"text/plain", "text/html"} <= kinds


def test_outbox__same_message_twice__one_file(tmp_path):
    notifier = open_notifier(NotifySettings(outbox_dir=tmp_path))
    notifier.send(make_email())
    notifier.send(make_email())
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_outbox__text_only__no_html_part(tmp_path):
    notifier = open_notifier(NotifySettings(outbox_dir=tmp_path))
    notifier.send(make_email(html=None))
    parsed = email.message_from_bytes(next(tmp_path.glob("*.eml")).read_bytes())
    assert parsed.get_content_type() == "text/plain"


def test_outbox__no_recipient__rejected(tmp_path):
    notifier = open_notifier(NotifySettings(outbox_dir=tmp_path))
    with pytest.raises(NotifierRejected):
        notifier.send(Email(to=(), subject="s", text="t", html=None, message_id=message_id_for("x")))
    assert not list(tmp_path.glob("*.eml"))


def test_outbox__send_many__every_file_written__a_refused_one_named_by_its_index(tmp_path):
    notifier = open_notifier(NotifySettings(outbox_dir=tmp_path))
    nobody = Email(to=(), subject="s", text="t", html=None, message_id=message_id_for("x"))
    rejected = notifier.send_many([make_email("k1"), nobody, make_email("k2")])
    assert list(rejected) == [1] and isinstance(rejected[1], NotifierRejected)
    assert len(list(tmp_path.glob("*.eml"))) == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_outbox__send_many__folder_not_writable__unavailable(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    notifier = open_notifier(NotifySettings(outbox_dir=blocked))
    with pytest.raises(NotifierUnavailable):
        notifier.send_many([make_email("k1")])


def test_outbox__send_many__files_synced_before_renamed__names_synced_after(tmp_path, monkeypatch):
    """The order that keeps a crash from leaving an empty message under its final name: every
    file is written and synced as .tmp, then renamed, then the folder's names are synced."""
    from services.notify import outbox

    seen = []
    monkeypatch.setattr(outbox, "sync_files", lambda paths, folder: seen.append(
        ("files", sorted(p.name for p in paths), sorted(f.name for f in folder.iterdir()))))
    monkeypatch.setattr(outbox, "sync_folder", lambda folder: seen.append(
        ("names", sorted(f.name for f in folder.iterdir()))))
    open_notifier(NotifySettings(outbox_dir=tmp_path)).send_many([make_email("k1"),
                                                                   make_email("k2")])
    (files_step, synced, present), (names_step, after) = seen
    assert files_step == "files" and names_step == "names"
    assert len(synced) == 2 and all(name.endswith(".tmp") for name in synced)
    assert present == synced  # nothing renamed yet when the data is synced
    assert len(after) == 2 and all(name.endswith(".eml") for name in after)
