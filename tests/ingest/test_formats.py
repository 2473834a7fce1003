"""Open mHealth and FHIR documents read into readings: what each field becomes, and a clear
reason for everything refused."""

import json

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from services.ingest.formats import FormatProblem, readings_in_signed, signed_format
from services.ingest.formats.fhir import fhir_readings
from services.ingest.formats.omh import omh_readings
from services.ingest.formats.timestamps import to_epoch_ms
from services.ingest.reading import canonical

from .format_examples import (
    fhir_bundle,
    fhir_observation,
    iso,
    omh_heart_rate,
    omh_rr_interval,
)

DEVICE = "12D3KooWQXKEWouVZnAysL6FoRBmPEzjypX7bGyQJvQYJmgv8eg3"
T = 1_796_196_001_098


# ---------------------------------------------------------------------------------- timestamps
@pytest.mark.parametrize("text, zone_required, expected", [
    ("2026-12-02T07:20:01Z", True, 1_796_196_001_000),
    ("2026-12-02T07:20:01.098Z", True, T),
    ("2026-12-02T08:20:01.098+01:00", True, T),
    ("2026-12-02T07:20:01.098999999Z", True, T),  # below a millisecond: dropped
    ("2026-12-02T07:20:01.098", False, T),  # Open mHealth: no zone means UTC
    ("2026-12-02T07:20:01.098", True, None),  # FHIR: a time needs its zone
    ("2026-12-02", False, None),
    ("2026-12-02 07:20:01Z", False, None),
    ("2026-02-30T07:20:01Z", False, None),
    ("2026-12-02T25:00:00Z", False, None),
    (1_796_196_001, False, None),
])
def test_timestamps__full_date_times_only(text, zone_required, expected):
    assert to_epoch_ms(text, zone_required=zone_required) == expected


# ------------------------------------------------------------------------------- Open mHealth
def test_omh_heart_rate__single_or_average__an_averaged_rate():
    points = [omh_heart_rate(DEVICE, T, 71.5), omh_heart_rate(DEVICE, T + 1000, 70, "1.1"),
              omh_heart_rate(DEVICE, T + 2000, 69, descriptive_statistic="average")]
    assert omh_readings(points) == [
        {"userId": DEVICE, "heartrate": 71.5, "ts_ms": T, "seq": T, "signal": "hr_averaged"},
        {"userId": DEVICE, "heartrate": 70, "ts_ms": T + 1000, "seq": T + 1000,
         "signal": "hr_averaged"},
        {"userId": DEVICE, "heartrate": 69, "ts_ms": T + 2000, "seq": T + 2000,
         "signal": "hr_averaged"}]


def test_omh_heart_rate__short_interval__put_at_its_end():
    frame = {"time_interval": {"start_date_time": iso(T - 5000), "end_date_time": iso(T)}}
    [reading] = omh_readings(omh_heart_rate(DEVICE, T, effective_time_frame=frame))
    assert reading["ts_ms"] == T and reading["seq"] == T


@pytest.mark.parametrize("interval", [
    {"start_date_time": iso(T - 5000), "duration": {"value": 5, "unit": "sec"}},
    {"end_date_time": iso(T), "duration": {"value": 5000, "unit": "ms"}},
    {"start_date_time": iso(T - 30_000), "duration": {"value": 0.5, "unit": "min"}},
])
def test_omh_heart_rate__interval_as_one_bound_and_its_duration__put_at_its_end(interval):
    """omh:time-interval's other two forms: a start or an end, with the duration."""
    frame = {"time_interval": interval}
    [reading] = omh_readings(omh_heart_rate(DEVICE, T, effective_time_frame=frame))
    assert reading["ts_ms"] == T and reading["seq"] == T


def test_omh_rr_interval__one_beat_with_its_rate():
    [reading] = omh_readings([omh_rr_interval(DEVICE, T, 845.4)])
    assert reading == {"userId": DEVICE, "heartrate": 71.0, "rr": [845], "ts_ms": T, "seq": T,
                       "signal": "rr"}


def test_omh_rr_interval_in_seconds__the_same_beat():
    """omh:rr-interval's value is a duration-unit-value: "sec" is as good a unit as "ms"."""
    point = omh_rr_interval(DEVICE, T)
    point["body"]["rr_interval"] = {"value": 0.8454, "unit": "sec"}
    [reading] = omh_readings([point])
    assert reading["rr"] == [845] and reading["heartrate"] == 71.0


def _with(point: dict, path: str, value) -> dict:
    point = json.loads(json.dumps(point))
    *parents, last = path.split(".")
    holder = point
    for name in parents:
        holder = holder[name]
    if value is ...:
        del holder[last]
    else:
        holder[last] = value
    return point


HR = omh_heart_rate(DEVICE, T)
RR = omh_rr_interval(DEVICE, T)


@pytest.mark.parametrize("point, reason", [
    (_with(HR, "header.schema_id.name", "blood-pressure"),
     "omh: data point 0: schema omh:blood-pressure:2.0 is not accepted"),
    (_with(HR, "header.schema_id.version", "3.0"), "omh: data point 0: schema omh:heart-rate:3.0"),
    (_with(HR, "header.schema_id.namespace", "granola"), "omh: data point 0: schema granola:"),
    (_with(HR, "header.schema_id", ...), "omh: data point 0: header.schema_id is missing"),
    (_with(HR, "header.user_id", ...), "omh: data point 0: header.user_id must be"),
    (_with(HR, "body.heart_rate.unit", "beats/s"), "omh: data point 0: body.heart_rate must be"),
    (_with(HR, "body.heart_rate.value", "72"), "omh: data point 0: body.heart_rate must be"),
    (_with(RR, "body.rr_interval.unit", "min"),
     "omh: data point 0: body.rr_interval must be {value: number, unit: 'ms' or 'sec'}"),
    (_with(RR, "body.rr_interval", {"value": 61, "unit": "sec"}),
     "omh: data point 0: body.rr_interval must be between 0 and 60000 ms"),
    (_with(HR, "body.heart_rate.value", float("nan")), "omh: data point 0: body.heart_rate"),
    (_with(HR, "body.descriptive_statistic", "maximum"), ("omh: data point 0: a heart rate "
                                                         "'maximum' is a summary")),
    (_with(HR, "body.effective_time_frame", ...), "omh: data point 0: body.effective_time_frame"),
    (_with(HR, "body.effective_time_frame.date_time", "2026-12-02"),
     "omh: data point 0: effective_time_frame.date_time is not an ISO 8601 date-time"),
    (_with(HR, "body.effective_time_frame", {"time_interval": {
        "start_date_time": iso(T - 61_000), "end_date_time": iso(T)}}),
     ("omh: data point 0: effective_time_frame.time_interval needs two of start_date_time, "
      "end_date_time and duration, at most 60 s apart")),
    (_with(HR, "body.effective_time_frame", {"time_interval": {
        "start_date_time": iso(T), "duration": {"value": 90, "unit": "sec"}}}),
     "omh: data point 0: effective_time_frame.time_interval needs two of"),
    (_with(HR, "body.effective_time_frame", {"time_interval": {
        "end_date_time": iso(T), "duration": {"value": -5, "unit": "sec"}}}),
     "omh: data point 0: effective_time_frame.time_interval needs two of"),
    (_with(HR, "body.effective_time_frame", {"time_interval": {
        "start_date_time": iso(T - 5000), "end_date_time": iso(T),
        "duration": {"value": 5, "unit": "sec"}}}),
     "omh: data point 0: effective_time_frame.time_interval gives a duration with both"),
    (_with(HR, "body.effective_time_frame", {"time_interval": {
        "duration": {"value": 5, "unit": "sec"}}}),
     "omh: data point 0: effective_time_frame.time_interval gives a duration with both"),
    (_with(HR, "body.effective_time_frame", {"time_interval": {
        "start_date_time": iso(T), "duration": {"value": 5, "unit": "h"}}}),
     ("omh: data point 0: effective_time_frame.time_interval.duration must be {value: number, "
      "unit: 'ms' or 'sec' or 'min'}")),
    (_with(RR, "body.effective_time_frame", {"time_interval": {
        "start_date_time": iso(T - 1000), "end_date_time": iso(T)}}),
     "omh: data point 0: body.effective_time_frame needs date_time (the beat's time)"),
    (_with(RR, "body.rr_interval.value", 0), ("omh: data point 0: body.rr_interval must be "
                                             "between 0 and 60000 ms")),
    (_with(RR, "body.rr_interval.value", 1e300), ("omh: data point 0: body.rr_interval must be "
                                                 "between")),
    (_with(RR, "body.descriptive_statistic", "average"), ("omh: data point 0: an rr-interval "
                                                         "with a descriptive statistic")),
    ({**HR, "resourceType": "Observation"}, "omh: data point 0 must be an object with exactly"),
    ([], "omh: no data points"),
])
def test_omh__refused_with_a_reason(point, reason):
    with pytest.raises(FormatProblem) as refused:
        omh_readings(point)
    assert str(refused.value).startswith(reason)


def test_omh__the_faulty_point_is_named():
    with pytest.raises(FormatProblem, match=r"^omh: data point 2: "):
        omh_readings([HR, RR, _with(HR, "header.user_id", 5)])


# ---------------------------------------------------------------------------------------- FHIR
def test_fhir_observation__intervals_make_an_rr_reading():
    [reading] = fhir_readings(fhir_observation(DEVICE, T, 72.5, rr=(830, 845.6)))
    assert reading == {"userId": DEVICE, "heartrate": 72.5, "ts_ms": T, "seq": T,
                       "signal": "rr", "rr": [830, 846]}


@pytest.mark.parametrize("signal, expected", [
    (None, "hr_averaged"), ("hr_instantaneous", "hr_instantaneous"),
    ("hr_averaged", "hr_averaged"), ("rr", "rr")])
def test_fhir_observation__signal_declared_by_method_or_conservative(signal, expected):
    [reading] = fhir_readings(fhir_observation(DEVICE, T, signal=signal))
    assert reading["signal"] == expected and "rr" not in reading


def test_fhir_bundle__every_kind__entries_in_order():
    observations = [fhir_observation(DEVICE, T + i * 1000, 60 + i) for i in range(3)]
    for kind in ("collection", "batch", "transaction"):
        readings = fhir_readings(fhir_bundle(observations, kind))
        assert [r["heartrate"] for r in readings] == [60, 61, 62]


def test_fhir_period__an_average_at_its_end():
    period = {"start": iso(T - 10_000), "end": iso(T)}
    observation = fhir_observation(DEVICE, T, effectivePeriod=period)
    del observation["effectiveDateTime"]
    [reading] = fhir_readings(observation)
    assert reading["ts_ms"] == T and reading["signal"] == "hr_averaged"


def test_fhir__other_components_read_past():
    observation = fhir_observation(DEVICE, T, rr=(800,))
    observation["component"].insert(0, {"code": {"coding": [{"system": "http://loinc.org",
                                                             "code": "8480-6"}]},
                                        "valueQuantity": {"value": 120}})
    assert fhir_readings(observation)[0]["rr"] == [800]


@pytest.mark.parametrize("code", ["/min", "1/min", "{beats}/min", "{beat}/min", "{h.b.}/min"])
def test_fhir_heart_rate__every_ucum_spelling_of_per_minute(code):
    """UCUM's annotations ({beats}) carry no meaning and "1/min" is "/min" written out: devices
    and EHR exports use each of them for the same unit."""
    observation = fhir_observation(DEVICE, T, 72)
    observation["valueQuantity"]["code"] = code
    assert fhir_readings(observation)[0]["heartrate"] == 72


def test_fhir_rr_interval_in_seconds__read_as_whole_milliseconds():
    observation = fhir_observation(DEVICE, T, rr=(800, 845))
    for component, seconds in zip(observation["component"], (0.8, 0.845)):
        component["valueQuantity"].update(value=seconds, unit="s", code="s")
    assert fhir_readings(observation)[0]["rr"] == [800, 845]
    observation["component"][1]["valueQuantity"]["value"] = 61  # seconds: no beat
    with pytest.raises(FormatProblem, match=r"component\[1\]: an RR interval must be between"):
        fhir_readings(observation)


OBS = fhir_observation(DEVICE, T)


def _obs(**changes) -> dict:
    observation = json.loads(json.dumps(OBS))
    for name, value in changes.items():
        if value is ...:
            del observation[name]
        else:
            observation[name] = value
    return observation


@pytest.mark.parametrize("value, reason", [
    ({"resourceType": "Patient"}, "fhir: resourceType must be Observation or Bundle"),
    (fhir_bundle([OBS], "searchset"), "fhir: Bundle.type must be one of"),
    ({"resourceType": "Bundle", "type": "collection", "entry": []}, "fhir: Bundle has no entry"),
    (fhir_bundle([OBS, {"resourceType": "Patient"}]),
     "fhir: Bundle.entry[1] does not hold an Observation"),
    (_obs(status="entered-in-error"), "fhir: Observation.status must be one of"),
    (_obs(code={"coding": [{"system": "http://loinc.org", "code": "8310-5"}]}),
     "fhir: Observation.code must include LOINC 8867-4"),
    (_obs(code={"coding": [{"system": "http://snomed.info/sct", "code": "8867-4"}]}),
     "fhir: Observation.code must include LOINC 8867-4"),
    (_obs(device=...), "fhir: Observation.device.identifier must name the device's peer id"),
    (_obs(device={"reference": "Device/1"}), "fhir: Observation.device.identifier"),
    (_obs(valueQuantity={"value": 72, "system": "http://unitsofmeasure.org", "code": "/s"}),
     "fhir: Observation.valueQuantity must be a number in UCUM"),
    (_obs(valueQuantity=...), "fhir: Observation.valueQuantity must be"),
    (_obs(valueQuantity={"value": 72, "system": "http://unitsofmeasure.org", "code": "/h"}),
     "fhir: Observation.valueQuantity must be a number in UCUM /min"),
    (_obs(valueQuantity={"value": 72, "system": "http://unitsofmeasure.org",
                         "code": "beats/min"}),  # not UCUM: "beats" is no unit there
     "fhir: Observation.valueQuantity must be a number in UCUM /min"),
    (_obs(valueQuantity={"value": 72, "system": "http://unitsofmeasure.org",
                         "code": "{a}{b}/min"}),
     "fhir: Observation.valueQuantity must be a number in UCUM /min"),
    (_obs(valueQuantity={"value": 72, "system": "http://unitsofmeasure.org", "code": ["/min"]}),
     "fhir: Observation.valueQuantity must be a number in UCUM /min"),
    (_obs(valueQuantity={"value": 72, "code": "/min"}),
     "fhir: Observation.valueQuantity must be a number in UCUM /min"),
    (_obs(effectiveDateTime="2026-12-02T07:20:01"),
     "fhir: Observation.effectiveDateTime must be a date-time with seconds and a time zone"),
    (_obs(effectiveDateTime=...), "fhir: Observation needs effectiveDateTime"),
    (_obs(effectiveDateTime=..., effectivePeriod={"start": iso(T - 90_000), "end": iso(T)}),
     "fhir: Observation.effectivePeriod needs start and end"),
    (_obs(effectiveDateTime=..., effectivePeriod={"start": iso(T - 5000), "end": iso(T)},
          method={"coding": [{"system": "urn:pulseledger:signal", "code": "rr"}]}),
     "fhir: Observation: an effectivePeriod is an average"),
    (_obs(method={"coding": [{"system": "urn:pulseledger:signal", "code": "rr"},
                             {"system": "urn:pulseledger:signal", "code": "hr_averaged"}]}),
     "fhir: Observation.method declares more than one signal"),
    (fhir_observation(DEVICE, T, rr=(-5,)), "fhir: Observation.component[0]: an RR interval"),

    (fhir_observation(DEVICE, T, rr=(800, 1e300)), ("fhir: Observation.component[1]: an RR "
                                                   "interval must be between 0 and 60000 ms")),
    (fhir_bundle([OBS, _obs(status="cancelled")]), "fhir: Bundle.entry[1].status must be"),
])
def test_fhir__refused_with_a_reason(value, reason):
    with pytest.raises(FormatProblem) as refused:
        fhir_readings(value)
    assert str(refused.value).startswith(reason)


def test_fhir_examples__are_valid_fhir_r4():
    """The shapes we accept (and document) are FHIR R4: the R4B models validate them (R4B left
    Observation and Bundle as R4 had them)."""
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation

    Observation.model_validate(fhir_observation(DEVICE, T, rr=(830, 845), signal="rr"))
    Bundle.model_validate(fhir_bundle([fhir_observation(DEVICE, T + i) for i in range(3)],
                                      "batch"))


# ----------------------------------------------------------------- signed values, read alone
@pytest.mark.parametrize("value, fmt", [
    (omh_heart_rate(DEVICE, T), "omh"), ([RR, HR], "omh"), (OBS, "fhir"),
    (fhir_bundle([OBS]), "fhir"), ({"userId": DEVICE}, "readings"), ([], "readings"),
    ([{"userId": DEVICE}, HR], "readings")])
def test_signed_format__told_by_the_value_itself(value, fmt):
    assert signed_format(value) == fmt


points = st.lists(st.one_of(
    st.builds(lambda dt, bpm: omh_heart_rate(DEVICE, T + dt, bpm),
              st.integers(0, 10**6), st.floats(30, 200)),
    st.builds(lambda dt, rr: omh_rr_interval(DEVICE, T + dt, rr),
              st.integers(0, 10**6), st.floats(250, 2500))), min_size=1, max_size=5)
observations = st.builds(
    lambda dt, bpm, rr: fhir_observation(DEVICE, T + dt, bpm, rr=rr),
    st.integers(0, 10**6), st.floats(30, 200) | st.integers(30, 200),
    st.lists(st.integers(250, 2500), max_size=4))


@hsettings(max_examples=60, deadline=None)
@given(value=st.one_of(points, observations, st.lists(observations, min_size=1, max_size=4)
                       .map(fhir_bundle)))
def test_readings_in_signed__the_same_from_the_canonical_text(value):
    """Storage re-reads readings from the canonical text a device signed: it must find exactly
    the readings validation read from the message."""
    assert readings_in_signed(json.loads(canonical(value))) == readings_in_signed(value)
