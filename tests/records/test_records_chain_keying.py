"""A store is keyed by its chain identity: another chain starts fresh, the same one resumes."""

from records_support import DEVICE, OWNER, fresh_chain, window_payload

from services.records import ChainIdentity


def test_other_chain__fresh_namespace__same_chain__same_state(make_store):
    chain_a = make_store.default_chain
    a = make_store(chain_a)
    ref = a.put_window(OWNER, DEVICE, 0, window_payload())
    a.register_device(DEVICE, OWNER, b"k" * 32)
    a.set_contacts(OWNER, ["pat@example.org"])

    b = make_store(fresh_chain())  # e.g. anvil restarted: new genesis hash
    assert b.list_windows(OWNER) == [] and b.get_device(DEVICE) is None
    assert b.get_contacts(OWNER) == [] and b.pending_unbatched(10) == []
    ref_b = b.put_window(OWNER, DEVICE, 0, window_payload(1))
    assert ref_b.created and ref_b.record_id != ref.record_id  # the same window, another chain

    again = make_store(chain_a)
    assert again.get_window(ref.record_id) == window_payload()
    assert again.get_contacts(OWNER) == ["pat@example.org"]


def test_namespace__depends_on_chain_id_genesis_and_contracts_not_on_case():
    base = ChainIdentity(1, "0x" + "ab" * 32, {"PulseLedger": "0x" + "cd" * 20})
    same = ChainIdentity(1, "0x" + "AB" * 32, {"PulseLedger": "0x" + "CD" * 20})
    assert base.namespace == same.namespace
    others = [
        ChainIdentity(2, base.genesis_hash, base.contracts),
        ChainIdentity(1, "0x" + "ac" * 32, base.contracts),
        ChainIdentity(1, base.genesis_hash, {"PulseLedger": "0x" + "ce" * 20}),
    ]
    assert len({base.namespace, *(c.namespace for c in others)}) == 4
