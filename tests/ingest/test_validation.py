import json
import time

import pytest

from services.ingest.device_identity import DeviceKey, peer_id_for, verify
from services.ingest.reading import Reading, b64, canonical, sign_batch, sign_reading
from services.ingest.validation import validate_message


@pytest.fixture
def device(store):
    key = DeviceKey.generate()
    store.register_device(key.user_id, "0x" + "11" * 20, key.public_bytes)
    return key


def now_ms():
    return int(time.time() * 1000)


def reading(key, seq=1, **overrides):
    fields = {"user_id": key.user_id, "heartrate": 72.0, "ts_ms": now_ms(), "seq": seq,
              "rr": (830, 840)}
    fields.update(overrides)
    return Reading(**fields)


def test_peer_id__matches_libp2p():
    from libp2p.crypto.ed25519 import Ed25519PublicKey
    from libp2p.peer.id import ID

    key = DeviceKey.generate()
    assert peer_id_for(key.public_bytes) == ID.from_pubkey(
        Ed25519PublicKey.from_bytes(key.public_bytes)).to_base58()


def test_valid_single_and_batch__pass(device, store, settings):
    single = validate_message(sign_reading(device, reading(device)), store, settings, now_ms())
    batch = validate_message(sign_batch(device, [reading(device, s) for s in range(2, 12)]),
                             store, settings, now_ms())
    assert len(single.valid) == 1 and not single.rejects
    assert len(batch.valid) == 10 and not batch.rejects


@pytest.mark.parametrize("mutate, reason", [
    (lambda m: m.replace(b'"sig"', b'"nosig"'), "unsigned"),
    (lambda m: b"{not json", "malformed: not JSON"),
    (lambda m: m.replace(b"72.0", b"73.0"), "signature"),
])
def test_tampered_messages__are_rejected_with_reason(device, store, settings, mutate, reason):
    verdict = validate_message(mutate(sign_reading(device, reading(device))), store, settings,
                               now_ms())
    assert not verdict.valid
    assert [r.reason for r in verdict.rejects] == [reason]


def test_wrong_key__signature_rejected(device, store, settings):
    other = DeviceKey.generate()
    body = reading(device).to_json()
    forged = json.dumps({"reading": body, "sig": b64(other.sign(canonical(body)))}).encode()
    assert [r.reason for r in validate_message(forged, store, settings, now_ms()).rejects] == [
        "signature"]


def test_small_order_device_key__universal_forgery_rejected(store, settings):
    """A device registered with a small-order public key (here the identity point) must not
    let anyone sign for it: with R = identity and S = 0 the equation holds for every message,
    and OpenSSL's verify (what validation used before 2026-12-06) accepted it. libsodium
    refuses small-order keys."""
    identity_point = bytes([1]) + bytes(31)
    user_id = peer_id_for(identity_point)
    store.register_device(user_id, "0x" + "22" * 20, identity_point)
    body = Reading(user_id=user_id, heartrate=72.0, ts_ms=now_ms(), seq=1,
                   rr=(830, 840)).to_json()
    forged = json.dumps({"reading": body, "sig": b64(identity_point + bytes(32))}).encode()
    verdict = validate_message(forged, store, settings, now_ms())
    assert not verdict.valid and [r.reason for r in verdict.rejects] == ["signature"]


@pytest.mark.parametrize("public_key, signature", [
    (b"\x01" * 31, b"\x00" * 64),  # a key one byte short
    (b"\x01" * 33, b"\x00" * 64),
    (None, b"\x00" * 64),
    ("not bytes" * 4, b"\x00" * 64),
])
def test_verify__malformed_key_or_signature__is_not_signed(device, public_key, signature):
    message = b"a message"
    good = device.sign(message)
    assert verify(device.public_bytes, good, message)
    assert not verify(public_key, signature, message)
    assert not verify(device.public_bytes, good[:63], message)  # a signature one byte short
    assert not verify(device.public_bytes, good, message + b"!")


def test_unknown_device__rejected(store, settings):
    stranger = DeviceKey.generate()
    verdict = validate_message(sign_reading(stranger, reading(stranger)), store, settings,
                               now_ms())
    assert [r.reason for r in verdict.rejects] == ["unknown device"]


@pytest.mark.parametrize("overrides, reason", [
    ({"heartrate": 400.0}, "range: heartrate"),
    ({"heartrate": 5.0}, "range: heartrate"),
    ({"rr": (10,)}, "range: rr"),
    ({"ts_ms": 10**13 * 9}, "timestamp: in the future"),
    ({"ts_ms": 1000}, "timestamp: too old"),
])
def test_out_of_range__rejected_per_reading(device, store, settings, overrides, reason):
    good, bad = reading(device, 1), reading(device, 2, **overrides)
    verdict = validate_message(sign_batch(device, [good, bad]), store, settings, now_ms())
    assert verdict.valid == [good]
    assert [r.reason for r in verdict.rejects] == [reason]


def test_repeated_seq_in_one_batch__rejected_as_replay(device, store, settings):
    verdict = validate_message(sign_batch(device, [reading(device, 5), reading(device, 5)]),
                               store, settings, now_ms())
    assert len(verdict.valid) == 1
    assert [r.reason for r in verdict.rejects] == ["replay: seq repeated in one message"]


def _signed_bodies(device, bodies) -> bytes:
    return json.dumps({"batch": bodies, "sig": b64(device.sign(canonical(bodies)))}).encode()


@pytest.mark.parametrize("signal", ["rr", "hr_instantaneous", "hr_averaged"])
def test_signal__each_declared_kind_passes_and_travels_with_the_reading(device, store, settings,
                                                                        signal):
    rr = (830, 840) if signal == "rr" else ()
    verdict = validate_message(sign_batch(device, [reading(device, 1, rr=rr, signal=signal)]),
                               store, settings, now_ms())
    assert [r.signal for r in verdict.valid] == [signal]


BAD_SIGNAL = "schema: signal must be one of rr, hr_instantaneous, hr_averaged"


@pytest.mark.parametrize("change, reason", [
    (lambda body: body.pop("signal"), "schema: missing ['signal']"),
    (lambda body: body.update(signal="ppg"), BAD_SIGNAL),
    (lambda body: body.update(signal=["rr"]), BAD_SIGNAL),
    (lambda body: body.update(signal="hr_averaged"),  # intervals from an hr-only device
     "schema: rr given by a device that declares a heart-rate-only signal"),
])
def test_signal__missing_or_invalid__whole_signed_batch_dead_lettered(device, store, settings,
                                                                      change, reason):
    """The signature covers the signal: a batch without a valid one is refused whole, even when
    the device signed it, with the reason."""
    bodies = [reading(device, s).to_json() for s in (1, 2)]
    change(bodies[1])
    verdict = validate_message(_signed_bodies(device, bodies), store, settings, now_ms())
    assert verdict.valid == []
    assert [r.reason for r in verdict.rejects] == [reason]


def test_signal__changed_after_signing__signature_rejected(device, store, settings):
    message = sign_reading(device, reading(device, 1, rr=(), signal="hr_averaged"))
    tampered = message.replace(b'"hr_averaged"', b'"hr_instantaneous"')
    verdict = validate_message(tampered, store, settings, now_ms())
    assert [r.reason for r in verdict.rejects] == ["signature"]


# ------------------------------------------------------------- Open mHealth and FHIR, signed
def _omh_and_fhir(device, ts_ms):
    from .format_examples import fhir_bundle, fhir_observation, omh_heart_rate, omh_rr_interval

    omh = [omh_heart_rate(device.user_id, ts_ms), omh_rr_interval(device.user_id, ts_ms + 500)]
    fhir = fhir_bundle([fhir_observation(device.user_id, ts_ms + i * 1000, rr=(830,))
                        for i in range(3)])
    return {"omh": omh, "fhir": fhir}


@pytest.mark.parametrize("member", ["omh", "fhir"])
def test_omh_and_fhir__signed_by_the_device__pass_as_readings(device, store, settings, member):
    from .format_examples import envelope

    value = _omh_and_fhir(device, now_ms() - 5000)[member]
    verdict = validate_message(envelope(member, value, device), store, settings, now_ms())
    assert not verdict.rejects and verdict.device == device.user_id
    assert len(verdict.valid) == (2 if member == "omh" else 3)
    assert {r.user_id for r in verdict.valid} == {device.user_id}


@pytest.mark.parametrize("member", ["omh", "fhir"])
def test_omh_and_fhir__changed_after_signing__signature_rejected(device, store, settings,
                                                                  member):
    from .format_examples import envelope

    message = envelope(member, _omh_and_fhir(device, now_ms() - 5000)[member], device)
    tampered = message.replace(b'"value": 72', b'"value": 73')
    assert tampered != message
    verdict = validate_message(tampered, store, settings, now_ms())
    assert [r.reason for r in verdict.rejects] == ["signature"] and not verdict.device


@pytest.mark.parametrize("member, other", [("omh", "fhir"), ("fhir", "omh"), ("batch", "omh"),
                                           ("reading", "fhir"), ("omh", "batch")])
def test_envelope_member__must_name_what_was_signed(device, store, settings, member, other):
    """A signature over one format is never read as another: the member must say what the signed
    value itself says it is."""
    from .format_examples import envelope

    values = _omh_and_fhir(device, now_ms())
    values["batch"] = [reading(device, 1).to_json()]
    verdict = validate_message(envelope(member, values[other], device), store, settings,
                               now_ms())
    assert not verdict.valid
    assert verdict.rejects[0].reason.startswith(f"malformed: the {member} member does not hold")


def test_omh__points_of_two_devices__rejected_whole(device, store, settings):
    from .format_examples import envelope, omh_heart_rate

    other = DeviceKey.generate()
    points = [omh_heart_rate(device.user_id, now_ms()), omh_heart_rate(other.user_id, now_ms())]
    verdict = validate_message(envelope("omh", points, device), store, settings, now_ms())
    assert [r.reason for r in verdict.rejects] == ["malformed: batch mixes devices"]


def test_fhir__out_of_range_readings__each_dead_lettered_the_rest_pass(device, store, settings):
    from .format_examples import envelope, fhir_bundle, fhir_observation

    start = now_ms() - 10_000
    bundle = fhir_bundle([fhir_observation(device.user_id, start, 72),
                          fhir_observation(device.user_id, start + 1000, 400),
                          fhir_observation(device.user_id, start + 2000, 70, rr=(100,)),
                          fhir_observation(device.user_id, start - 2 * 86_400_000, 70),
                          fhir_observation(device.user_id, start, 75)])
    verdict = validate_message(envelope("fhir", bundle, device), store, settings, now_ms())
    assert [r.heartrate for r in verdict.valid] == [72]
    assert [r.reason for r in verdict.rejects] == [
        "range: heartrate", "range: rr", "timestamp: too old",
        "replay: seq repeated in one message"]
    assert json.loads(verdict.rejects[0].payload)["heartrate"] == 400


def test_omh__unreadable_point__whole_message_rejected_with_the_reason(device, store, settings):
    from .format_examples import envelope, omh_heart_rate

    points = [omh_heart_rate(device.user_id, now_ms()),
              omh_heart_rate(device.user_id, now_ms(), descriptive_statistic="minimum")]
    verdict = validate_message(envelope("omh", points, device), store, settings, now_ms())
    assert not verdict.valid
    assert [r.reason for r in verdict.rejects] == [
        ("omh: data point 1: a heart rate 'minimum' is a summary the screen cannot use "
        "(send single measurements or averages)")]


def test_fhir_signal__rr_components_with_an_hr_only_method__rejected(device, store, settings):
    from .format_examples import envelope, fhir_observation

    observation = fhir_observation(device.user_id, now_ms(), rr=(800,), signal="hr_averaged")
    verdict = validate_message(envelope("fhir", observation, device), store, settings, now_ms())
    assert [r.reason for r in verdict.rejects] == [
        "schema: rr given by a device that declares a heart-rate-only signal"]


def test_signed_value__larger_than_the_bound__rejected_whole(device, store):
    from services.ingest.settings import IngestSettings

    from .format_examples import envelope, fhir_bundle, fhir_observation

    start = now_ms() - 600_000
    bundle = fhir_bundle([fhir_observation(device.user_id, start + i * 1000, rr=(830, 840))
                          for i in range(40)])
    message = envelope("fhir", bundle, device)
    small = IngestSettings(max_signed_bytes=20_000)
    verdict = validate_message(message, store, small, now_ms())
    assert [r.reason for r in verdict.rejects] == [
        "malformed: signed value larger than 20000 bytes"]
    assert len(validate_message(message, store, IngestSettings(), now_ms()).valid) == 40
