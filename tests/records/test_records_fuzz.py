"""Property tests: Merkle proofs for any batch, and bad input → `InvalidInput`, never a crash.

Input validation is shared code in front of both backends, so the fuzz runs on SQLite only
(the Firestore emulator would add minutes, not coverage)."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records_support import fresh_chain

from services.records import InvalidInput, merkle
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore

digests = st.binary(min_size=32, max_size=32)


@given(st.lists(digests, min_size=1, max_size=64), st.data())
@settings(max_examples=150, deadline=None)
def test_merkle__every_proof_verifies_and_any_flip_fails(leaves, data):
    root, proofs = merkle.build(leaves)
    i = data.draw(st.integers(0, len(leaves) - 1))
    assert merkle.verify(leaves[i], proofs[i], root)
    bit = data.draw(st.integers(0, 255))
    flipped = bytearray(leaves[i])
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert not merkle.verify(bytes(flipped), proofs[i], root)
    if proofs[i]:
        j = data.draw(st.integers(0, len(proofs[i]) - 1))
        bad = bytearray(proofs[i][j])
        bad[bit // 8] ^= 1 << (bit % 8)
        assert not merkle.verify(leaves[i], [*proofs[i][:j], bytes(bad), *proofs[i][j + 1 :]], root)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    store = SqliteRecordStore(
        tmp_path_factory.mktemp("fuzz"), fresh_chain(), Keyring(os.urandom(32))
    )
    yield store
    store.close()


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=80),
    st.binary(max_size=80),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@given(owner=anything, device=anything, start=anything, payload=anything)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_put_window__any_input__stored_or_invalid_input(
    sqlite_store, owner, device, start, payload
):
    try:
        ref = sqlite_store.put_window(owner, device, start, payload)
    except InvalidInput:
        return
    assert sqlite_store.get_window(ref.record_id) == payload


@given(
    device=anything,
    owner=anything,
    key=anything,
    emails=st.lists(anything, max_size=3),
    bundle=anything,
    data_class=anything,
    kind=anything,
    reason=anything,
)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_other_writes__any_input__ok_or_invalid_input(
    sqlite_store, device, owner, key, emails, bundle, data_class, kind, reason
):
    calls = [
        lambda: sqlite_store.register_device(device, owner, key),
        lambda: sqlite_store.set_contacts(owner, emails),
        lambda: sqlite_store.link_doctor(owner, owner, reason),
        lambda: sqlite_store.put_bundle(owner, bundle, data_class, key),
        lambda: sqlite_store.dead_letter(kind, key, reason),
        lambda: sqlite_store.list_windows(owner),
    ]
    for call in calls:
        try:
            call()
        except InvalidInput:
            pass


def test_record_id_is_opaque():
    from services.records.validation import window_record_id

    rid = window_record_id("ns", "12D3KooWDevice", 1_700_000_000_000)
    assert len(rid) == 66 and "12D3" not in rid and "1700000000000" not in rid
