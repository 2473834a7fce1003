"""Fuzz the ingest: whatever arrives, validation never raises, never lets through a reading that
was not signed by its registered device with in-range values, and rejects with a reason."""

import json
import time

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from services.ingest.device_identity import DeviceKey
from services.ingest.reading import Reading, b64, canonical, sign_batch
from services.ingest.settings import IngestSettings
from services.ingest.validation import validate_message
from services.peers.backends import records_settings
from services.records import open_store

KEY = DeviceKey.from_seed(b"\x01" * 32)
STRANGER = DeviceKey.from_seed(b"\x02" * 32)
NOW = int(time.time() * 1000)
SETTINGS = IngestSettings()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
# integers beyond any double too (309+ digits): a number check once raised on them
field_values = st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.text(), st.none(),
                         st.sampled_from([10**309, -(10**400), 2**1024 + 1]),
                         st.lists(st.integers(-5000, 5000), max_size=20), st.booleans())


_STORES = {}


def _store(tmp_path_factory):
    """One store per test function (devices are only read by validation)."""
    if "store" not in _STORES:
        store = open_store(records_settings(tmp_path_factory.mktemp("fuzz")))
        store.register_device(KEY.user_id, "0x" + "22" * 20, KEY.public_bytes)
        _STORES["store"] = store
    return _STORES["store"]


def _assert_sound(verdict, raw):
    assert all(r.reason for r in verdict.rejects)
    for reading in verdict.valid:
        assert reading.user_id == KEY.user_id
        assert SETTINGS.heartrate_min <= reading.heartrate <= SETTINGS.heartrate_max
        assert all(SETTINGS.rr_min_ms <= x <= SETTINGS.rr_max_ms for x in reading.rr)
        assert reading.signal in ("rr", "hr_instantaneous", "hr_averaged")
        assert reading.signal == "rr" or not reading.rr


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bytes__never_raise_never_pass(tmp_path_factory, raw):
    verdict = validate_message(raw, _store(tmp_path_factory), SETTINGS, NOW)
    assert verdict.valid == []
    assert len(verdict.rejects) == 1


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["heartrate", "ts_ms", "seq", "rr", "userId", "signal",
                              "extra"]),
       value=field_values, signer=st.sampled_from(["device", "stranger", "unsigned"]))
def test_mutated_reading__signed_or_not__is_judged_soundly(tmp_path_factory, field, value, signer):
    body = Reading(KEY.user_id, 70.0, NOW, 7, (850,)).to_json()
    body[field] = value
    if signer == "unsigned":
        raw = json.dumps({"reading": body}).encode()
    else:
        key = KEY if signer == "device" else STRANGER
        try:
            raw = json.dumps({"reading": body, "sig": b64(key.sign(canonical(body)))}).encode()
        except Exception:  # not canonicalizable (NaN, huge int): send it with a garbage signature  # noqa: BLE001
            raw = json.dumps({"reading": body, "sig": "AAAA"}).encode()
    verdict = validate_message(raw, _store(tmp_path_factory), SETTINGS, NOW)
    _assert_sound(verdict, raw)
    if signer != "device":
        assert verdict.valid == []
    assert len(verdict.valid) + len(verdict.rejects) == 1


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seqs=st.lists(st.integers(0, 20), min_size=1, max_size=12))
def test_replayed_seq_within_a_batch__each_seq_passes_once(tmp_path_factory, seqs):
    batch = [Reading(KEY.user_id, 70.0, NOW, s) for s in seqs]
    verdict = validate_message(sign_batch(KEY, batch), _store(tmp_path_factory), SETTINGS, NOW)
    assert sorted(r.seq for r in verdict.valid) == sorted(set(seqs))
    assert len(verdict.rejects) == len(seqs) - len(set(seqs))


def _mutate(value, path: tuple, new):
    """A copy of a JSON document with the value at `path` (keys/indexes, wrapped) replaced."""
    if not path or not isinstance(value, dict | list) or not value:
        return new
    copy = json.loads(json.dumps(value))
    keys = list(copy) if isinstance(copy, dict) else list(range(len(copy)))
    key = keys[path[0] % len(keys)]
    copy[key] = _mutate(copy[key], path[1:], new)
    return copy


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.sampled_from(["omh", "fhir"]), path=st.lists(st.integers(0, 20), max_size=6),
       new=json_values | field_values, signer=st.sampled_from(["device", "stranger"]))
def test_mutated_omh_and_fhir__signed__are_judged_soundly(tmp_path_factory, member, path, new,
                                                         signer):
    """Any field of an Open mHealth or FHIR document changed to anything, then signed: validation
    never raises, and passes only sound readings of the signing, registered device."""
    from .format_examples import fhir_bundle, fhir_observation, omh_heart_rate, omh_rr_interval

    documents = {"omh": [omh_heart_rate(KEY.user_id, NOW), omh_rr_interval(KEY.user_id, NOW + 1)],
                 "fhir": fhir_bundle([fhir_observation(KEY.user_id, NOW, rr=(850,)),
                                      fhir_observation(KEY.user_id, NOW + 1000)])}
    value = _mutate(documents[member], tuple(path), new)
    key = KEY if signer == "device" else STRANGER
    try:
        sig = b64(key.sign(canonical(value)))
    except Exception:  # not canonicalizable: sent with a garbage signature  # noqa: BLE001
        sig = "AAAA"
    raw = json.dumps({member: value, "sig": sig}).encode()
    verdict = validate_message(raw, _store(tmp_path_factory), SETTINGS, NOW)
    _assert_sound(verdict, raw)
    if signer != "device":
        assert verdict.valid == []
    assert verdict.valid or verdict.rejects
