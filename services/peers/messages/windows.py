"""predict.windows, store.windows and notify.predictions: an aggregator sends a closed window
through prediction, storage and notification (docs/peers.md, "Assignment and windows")."""

from __future__ import annotations

from dataclasses import dataclass

from services.peers.messages.checks import (
    dicts,
    field,
    is_int,
    is_number,
    is_str,
    only_keys,
    optional,
)
from services.peers.messages.readings import check_in_window

PREDICT, STORE, NOTIFY = "predict.windows", "store.windows", "notify.predictions"
_listed = lambda v: type(v) is list
_object = lambda v: type(v) is dict


def _window_key(item: dict) -> None:
    field(item, "device_id", is_str, "the device id, a string")
    field(item, "window_start_ms", is_int, "an integer (ms)")


# A window's context is the device's minute before (services/peers/recent_windows.py): at most
# 50 one-per-second rates and the beats of 50 s at 240 bpm, with room for a late reading.
MAX_CONTEXT_VALUES = 400


def _numbers(value) -> bool:
    return type(value) is list and len(value) <= MAX_CONTEXT_VALUES and all(map(is_number, value))


def _context(value) -> bool:
    if type(value) is not dict:
        return False
    only_keys(value, frozenset({"heart_rates", "rr_ms"}), "context")
    field(value, "heart_rates", optional(_numbers),
          f"a list of at most {MAX_CONTEXT_VALUES} numbers, or null", None)
    field(value, "rr_ms", optional(_numbers),
          f"a list of at most {MAX_CONTEXT_VALUES} numbers, or null", None)
    return True


def _window(item: dict) -> None:
    only_keys(item, frozenset({"device_id", "window_start_ms", "readings", "context"}),
              "windows")
    _window_key(item)
    dicts(field(item, "readings", _listed, "a list"), check_in_window, "readings")
    field(item, "context", optional(_context), "an object: the device's minute before", None)


def _stored_item(item: dict) -> None:
    only_keys(item, frozenset({"device_id", "window_start_ms", "readings", "prediction",
                               "attestations"}), "items")
    _window_key(item)
    dicts(field(item, "readings", _listed, "a list"), check_in_window, "readings")
    field(item, "prediction", _object, "the screen's answer, an object")
    dicts(field(item, "attestations", _listed, "a list", []), lambda a: None, "attestations")


def _notified_item(item: dict) -> None:
    only_keys(item, frozenset({"device_id", "window_start_ms", "prediction"}), "items")
    _window_key(item)
    field(item, "prediction", _object, "the screen's answer, an object")


@dataclass(frozen=True, slots=True)
class PredictRequest:
    windows: list[dict]

    @classmethod
    def from_wire(cls, body: dict) -> PredictRequest:
        return cls(dicts(field(body, "windows", _listed, "a list"), _window, "windows"))

    def to_wire(self) -> dict:
        return {"windows": self.windows}


@dataclass(frozen=True, slots=True)
class PredictReply:
    predictions: list[dict]

    @classmethod
    def from_wire(cls, body: dict) -> PredictReply:
        return cls(dicts(field(body, "predictions", _listed, "a list"), lambda p: None,
                         "predictions"))

    def to_wire(self) -> dict:
        return {"predictions": self.predictions}


@dataclass(frozen=True, slots=True)
class StoreRequest:
    items: list[dict]
    window_ms: int | None

    @classmethod
    def from_wire(cls, body: dict) -> StoreRequest:
        return cls(dicts(field(body, "items", _listed, "a list"), _stored_item, "items"),
                   field(body, "window_ms", optional(is_int), "an integer (ms)", None))

    def to_wire(self) -> dict:
        return {"items": self.items, "window_ms": self.window_ms}


@dataclass(frozen=True, slots=True)
class StoreReply:
    record_ids: list[str]

    @classmethod
    def from_wire(cls, body: dict) -> StoreReply:
        ids = field(body, "record_ids", lambda v: type(v) is list and all(map(is_str, v)),
                    "a list of record ids")
        return cls(ids)

    def to_wire(self) -> dict:
        return {"record_ids": self.record_ids}


@dataclass(frozen=True, slots=True)
class NotifyRequest:
    items: list[dict]

    @classmethod
    def from_wire(cls, body: dict) -> NotifyRequest:
        return cls(dicts(field(body, "items", _listed, "a list"), _notified_item, "items"))

    def to_wire(self) -> dict:
        return {"items": self.items}


@dataclass(frozen=True, slots=True)
class NotifyReply:
    sent: int

    @classmethod
    def from_wire(cls, body: dict) -> NotifyReply:
        return cls(field(body, "sent", is_int, "an integer"))

    def to_wire(self) -> dict:
        return {"sent": self.sent}
