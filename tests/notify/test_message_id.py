from email.utils import parseaddr

from services.notify import message_id_for


def test_message_id__same_key__same_id():
    assert message_id_for("31337:0xab:3") == message_id_for("31337:0xab:3")


def test_message_id__different_keys__different_ids():
    assert message_id_for("31337:0xab:3") != message_id_for("31337:0xab:4")


def test_message_id__is_an_rfc5322_msg_id():
    value = message_id_for("31337:0xab:3")
    assert value.startswith("<") and value.endswith(">")
    local, _, domain = value[1:-1].partition("@")
    assert local and domain and parseaddr(value)[1]
