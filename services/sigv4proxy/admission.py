"""Whether a parsed body (one call or a batch) may be forwarded: shape, batch policy, allow-list.

A batch is all or nothing: if one call is refused nothing is sent, and the answer carries each
refused call's reason and, for the others, that they were not sent."""

import json
from collections.abc import Callable
from typing import Any

from .jsonrpc import INVALID_REQUEST, LIMIT_EXCEEDED, Refusal, error_body, validate_call
from .policy import Policy, ResolveTag

NOT_SENT = "not sent: another call in this batch was refused"


class BatchRefusal(Refusal):
    """A refused batch: `body` is the JSON-RPC array answered to the client."""

    def __init__(self, first: Refusal, body: list[dict]):
        super().__init__(first.http_status, first.code, first.message, first.request_id)
        self.batch_body = body

    def body(self) -> list[dict]:  # type: ignore[override]
        return self.batch_body


class Admission:
    def __init__(
        self,
        policy: Policy,
        batch_policy: str,
        max_batch_size: int,
        count_call: Callable[[str, str], None],
    ):
        self._policy = policy
        self._batches_allowed = batch_policy == "allow"
        self._max_batch = max_batch_size
        self._count = count_call  # (method, "allowed" | "refused"), for metrics

    def check(self, parsed: Any, resolve_tag: ResolveTag) -> None:
        """Returns when everything may be forwarded; raises Refusal (or BatchRefusal) otherwise."""
        if isinstance(parsed, list):
            self._check_batch(parsed, resolve_tag)
        else:
            self._check_call(parsed, resolve_tag)

    def _check_call(self, item: Any, resolve_tag: ResolveTag) -> None:
        try:
            call = validate_call(item)
            self._policy.check(call, resolve_tag)
        except Refusal:
            if isinstance(item, dict) and isinstance(item.get("method"), str):
                self._count(item["method"], "refused")
            raise
        self._count(call.method, "allowed")

    def _check_batch(self, items: list, resolve_tag: ResolveTag) -> None:
        if not self._batches_allowed:
            raise Refusal(400, INVALID_REQUEST, "batch requests are not accepted by this proxy")
        if not items:
            raise Refusal(400, INVALID_REQUEST, "empty batch")
        if len(items) > self._max_batch:
            raise Refusal(400, LIMIT_EXCEEDED, f"batch larger than {self._max_batch}")
        ids = [json.dumps(item.get("id")) for item in items if isinstance(item, dict)]
        if len(set(ids)) != len(ids):
            # Answers are matched to calls by id: two calls with one id could not be told apart.
            raise Refusal(400, INVALID_REQUEST, "two calls in this batch share an id")
        refusals: list[Refusal | None] = []
        for item in items:
            try:
                self._check_call(item, resolve_tag)
                refusals.append(None)
            except Refusal as refusal:
                refusals.append(refusal)
        first = next((r for r in refusals if r is not None), None)
        if first is None:
            return
        body = [
            refusal.body()
            if refusal is not None
            else error_body(
                INVALID_REQUEST, NOT_SENT, item.get("id") if isinstance(item, dict) else None
            )
            for refusal, item in zip(refusals, items, strict=True)
        ]
        raise BatchRefusal(first, body)
