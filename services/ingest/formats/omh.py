"""Open mHealth data points (omh:heart-rate 1.x/2.x, omh:rr-interval 1.x) as readings.

One data point becomes one reading; the device is `header.user_id` (its libp2p peer id, which is
what a reading's userId holds), the reading's time is the data point's effective time and its
seq is that time in milliseconds (a device reads at most once a millisecond; the same time twice
with other content is a replay). What the screen may judge follows from the schema:
- omh:heart-rate — a rate whose beats are not given: "hr_averaged" (a single measurement, or the
  descriptive statistic "average"; other statistics — minimum, maximum, ... — are summaries the
  screen cannot use and are refused). A time interval (its start and end, or either with its
  duration) is allowed up to MAX_AVERAGING_MS and the reading is put at its end, when the
  average was known.
- omh:rr-interval — one beat: rr = [the interval in whole ms; given in "ms" or "sec"],
  heartrate = 60000 / interval,
  signal "rr", at the beat's date_time.
Everything else in a data point is read past (and stays in what the device signed).
"""

from __future__ import annotations

from services.ingest.formats.problems import FormatProblem
from services.ingest.formats.timestamps import to_epoch_ms
from services.ingest.json_types import is_number

ACCEPTED = {"heart-rate": ("1", "2"), "rr-interval": ("1",)}  # name -> major versions
MAX_AVERAGING_MS = 60_000  # a rate averaged over longer is a summary, not a reading
MAX_INTERVAL_MS = 60_000  # no beat follows another a minute later (ranges judge the rest)


def is_data_point(value: object) -> bool:
    return isinstance(value, dict) and "header" in value and "body" in value


def omh_readings(value: object) -> list[dict]:
    points = value if isinstance(value, list) else [value]
    if not points:
        raise FormatProblem("omh: no data points")
    return [_reading(point, index) for index, point in enumerate(points)]


def _reading(point: object, index: int) -> dict:
    where = f"omh: data point {index}"
    if not isinstance(point, dict) or set(point) != {"header", "body"}:
        raise FormatProblem(f"{where} must be an object with exactly header and body")
    header, body = point["header"], point["body"]
    if not isinstance(header, dict) or not isinstance(body, dict):
        raise FormatProblem(f"{where}: header and body must be objects")
    name = _schema_name(header.get("schema_id"), where)
    device = header.get("user_id")
    if not isinstance(device, str):
        raise FormatProblem(f"{where}: header.user_id must be the device's peer id")
    if name == "heart-rate":
        return _heart_rate(body, device, where)
    return _rr_interval(body, device, where)


def _schema_name(schema_id: object, where: str) -> str:
    accepted = "omh:heart-rate 1.x or 2.x, omh:rr-interval 1.x"
    if not isinstance(schema_id, dict):
        raise FormatProblem(f"{where}: header.schema_id is missing (accepted: {accepted})")
    namespace, name, version = (schema_id.get(k) for k in ("namespace", "name", "version"))
    majors = ACCEPTED.get(name) if namespace == "omh" and isinstance(name, str) else None
    if not majors or not isinstance(version, str) or version.split(".")[0] not in majors:
        raise FormatProblem(f"{where}: schema {namespace}:{name}:{version} is not accepted "
                            f"(accepted: {accepted})")
    return name


# The units each field may be given in, with their factor to ours: omh:rr-interval's is a
# duration-unit-value, which a device may write in seconds ("sec") as well as in "ms".
HEART_RATE_UNITS = {"beats/min": 1}
INTERVAL_UNITS = {"ms": 1, "sec": 1000}
DURATION_UNITS = {"ms": 1, "sec": 1000, "min": 60_000}  # a time interval's, to ms


def _unit_value(holder: dict, field: str, units: dict[str, int], where: str,
                path: str = "body") -> float:
    quantity = holder.get(field)
    unit = quantity.get("unit") if isinstance(quantity, dict) else None
    if not isinstance(unit, str) or unit not in units or not is_number(quantity.get("value")):
        named = " or ".join(repr(u) for u in units)
        raise FormatProblem(f"{where}: {path}.{field} must be {{value: number, unit: {named}}}")
    return quantity["value"] * units[unit]  # an int stays an int (x 1), as it was signed


def _heart_rate(body: dict, device: str, where: str) -> dict:
    rate = _unit_value(body, "heart_rate", HEART_RATE_UNITS, where)
    statistic = body.get("descriptive_statistic")
    if statistic not in (None, "average"):
        raise FormatProblem(f"{where}: a heart rate {statistic!r} is a summary the screen cannot "
                            "use (send single measurements or averages)")
    ts_ms = _moment(body.get("effective_time_frame"), where, intervals=True)
    return {"userId": device, "heartrate": rate, "ts_ms": ts_ms, "seq": ts_ms,
            "signal": "hr_averaged"}


def _rr_interval(body: dict, device: str, where: str) -> dict:
    interval = _unit_value(body, "rr_interval", INTERVAL_UNITS, where)
    if "descriptive_statistic" in body:
        raise FormatProblem(f"{where}: an rr-interval with a descriptive statistic is not a beat")
    if not 0 < interval < MAX_INTERVAL_MS:
        raise FormatProblem(f"{where}: body.rr_interval must be between 0 and "
                            f"{MAX_INTERVAL_MS} ms")
    ts_ms = _moment(body.get("effective_time_frame"), where, intervals=False)
    return {"userId": device, "heartrate": round(60_000 / interval, 1), "rr": [round(interval)],
            "ts_ms": ts_ms, "seq": ts_ms, "signal": "rr"}


def _moment(frame: object, where: str, *, intervals: bool) -> int:
    """The reading's time: the frame's date_time, or the end of its (short) time_interval."""
    if isinstance(frame, dict) and "date_time" in frame:
        ts_ms = to_epoch_ms(frame["date_time"], zone_required=False)
        if ts_ms is None:
            raise FormatProblem(f"{where}: effective_time_frame.date_time is not an ISO 8601 "
                                "date-time")
        return ts_ms
    interval = frame.get("time_interval") if isinstance(frame, dict) else None
    if not intervals or not isinstance(interval, dict):
        wanted = "date_time or time_interval" if intervals else "date_time (the beat's time)"
        raise FormatProblem(f"{where}: body.effective_time_frame needs {wanted}")
    start, end = _interval_bounds(interval, where)
    if start is None or end is None or not 0 <= end - start <= MAX_AVERAGING_MS:
        raise FormatProblem(f"{where}: effective_time_frame.time_interval needs two of "
                            "start_date_time, end_date_time and duration, at most "
                            f"{MAX_AVERAGING_MS // 1000} s apart")
    return end


def _interval_bounds(interval: dict, where: str) -> tuple[int | None, int | None]:
    """(start, end) in ms of an omh:time-interval given as its start and end, or either one with
    its duration (the schema's three forms; None where a bound is missing or unreadable)."""
    start = to_epoch_ms(interval.get("start_date_time"), zone_required=False)
    end = to_epoch_ms(interval.get("end_date_time"), zone_required=False)
    if "duration" not in interval:
        return start, end
    given = [name for name in ("start_date_time", "end_date_time") if name in interval]
    if len(given) != 1:
        raise FormatProblem(f"{where}: effective_time_frame.time_interval gives a duration "
                            "with both or neither of start_date_time and end_date_time")
    length = _unit_value(interval, "duration", DURATION_UNITS, where,
                         "effective_time_frame.time_interval")
    length = round(length) if 0 <= length <= MAX_AVERAGING_MS else MAX_AVERAGING_MS + 1
    if start is not None:
        return start, start + length
    return (end - length if end is not None else None), end
