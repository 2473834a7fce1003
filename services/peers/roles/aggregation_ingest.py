"""Aggregation, ingest and replication: a master's readings accepted for the users we are
primary for, written to the window store and replicated to each user's replica before we answer;
a primary's replication merged here, with our signed receipt for it (services/peers/receipts.py).
Part of AggregationRole (aggregation.py), whose __init__ holds the state."""

from __future__ import annotations

import time
from collections import defaultdict

import trio

from services.peers.attestation import attestation_id
from services.peers.messages.agg_ingest import REJECTED, IngestReply, IngestRequest
from services.peers.messages.agg_state import MERGE, MergeReply, WindowState
from services.peers.receipts import sign_receipt
from services.peers.rejected import dead_letter_rejected
from services.peers.rpc import PeerUnavailable
from services.peers.window_store import row_digest
from services.runtime import document_json


class IngestAndReplication:
    async def handle_ingest(self, request: IngestRequest, caller: str) -> IngestReply:
        """Accept a master's readings for the users we are primary for (in our own view of the
        live aggregators); name the others in `not_primary` — the master keeps them pending and
        routes them again. A reading accepted by an aggregator that is not its user's primary
        (views differ while a peer dies or comes back) can miss the window the real primary
        closes: it would be acknowledged and end up a dead letter instead of stored.

        The same holds for a user we are primary for with no replica live to copy it to, unless
        we may act alone (`_may_act_alone`: no other aggregator ever shared state with us, or
        none has been live for solo_close_after_s). Our view can lack a partner that is alive —
        its presence notes late, a call to it timed out — and that partner, still primary in
        its own view, closes the user's windows without what we took. Until then readings wait
        in the queue, as they do for windows we may not close alone."""
        me, assign = self.rpc.self_id, self.directory.primary_and_replica
        alone_ok = self._may_act_alone()
        readings, positions, elsewhere = [], [], []
        user = None  # a device's readings come together (a message's batch): one lookup each
        for index, reading in enumerate(request.readings):
            if reading["userId"] != user:
                user = reading["userId"]
                primary, replica = assign(user)
            if primary == me and (replica is not None or alone_ok):
                readings.append(reading)
                positions.append(index)
            else:
                elsewhere.append(reading)
        not_primary = [[r["userId"], r["seq"]] for r in elsewhere]
        if not readings:
            return IngestReply({}, not_primary)
        counts, rejected, receipts = await self._accept(readings, request.attestations)
        return IngestReply(counts, not_primary,
                           [[positions[i], outcome] for i, outcome in rejected], receipts)

    async def _accept(self, readings: list[dict], documents: dict) -> tuple[dict, list, list]:
        """Counts by outcome, the readings dead-lettered ([index in `readings`, outcome]), and
        the replicas' receipts for the rest."""
        attestations = self._attestations(readings, documents)
        digests = _attested_digests(readings, documents)
        if self._ingest_process is None:
            await self.yield_to_closing()  # on this loop: between close rounds
        steps = self.ingest_steps.begin()
        await self._sync_before_accepting({r["userId"] for r in readings})
        steps.lap("sync")
        outcomes = None
        if self._ingest_process is not None:  # beside the rounds; their writes go first
            async with self.writes.ingest():
                steps.lap("wait_writer")
                outcomes = await self._ingest_process.ingest(readings, time.time(),
                                                             attestations, digests)
                steps.lap("write")
        if outcomes is None:
            async with self.writes.ingest():
                steps.lap("wait_writer")
                outcomes = self.windows.ingest(readings, attestations=attestations,
                                               digests=digests)
                steps.lap("write")
        self._last_input = time.monotonic()
        for reading in readings:
            self._touched[reading["userId"]] += 1
        self._fresh.update(r["userId"] for r in readings)
        counts: dict[str, int] = defaultdict(int)
        keep, rejected = [], []
        for index, (reading, outcome) in enumerate(zip(readings, outcomes)):
            counts[outcome] += 1
            if outcome in REJECTED:
                dead_letter_rejected(self.store, reading, outcome)
                rejected.append((index, outcome))
            else:
                keep.append(reading)  # duplicates too: the replica may have missed them
        late = [r for r, outcome in zip(readings, outcomes) if outcome == "late"]
        if late:  # dead-lettered, and kept to be stored as a part after all
            await self._keep_late(late, attestations)
        receipts = []
        if keep:
            by_peer = self._replica_groups(r["userId"] for r in keep)
            payloads = {}
            for peer, devices in by_peer.items():
                wanted = set(devices)
                chosen = [i for i, r in enumerate(readings) if r["userId"] in wanted
                          and outcomes[i] not in REJECTED]
                payloads[peer] = self.windows.rows_for(
                    [readings[i] for i in chosen], attestations, [digests[i] for i in chosen])
            receipts = await self._replicate(payloads, want_receipts=True)
        steps.lap("replicate")  # with the rejects dead-lettered and the late ones kept
        return dict(counts), rejected, receipts

    @staticmethod
    def _attestations(readings: list[dict], documents: dict) -> dict[str, tuple[str, str]]:
        """Name each reading's attestation (attestation_id) in its "att"; storage
        checks them (services/peers/attestation.py), we only keep them with the readings."""
        out, by_device = {}, {}
        for device, document in documents.items():
            name = attestation_id(document)
            if name is not None:
                out[name] = (device, document_json.dumps(document))
                by_device[device] = name
        for reading in readings:
            reading["att"] = by_device.get(reading["userId"])
        return out

    async def _replicate(self, groups: dict[str, dict], want_receipts: bool = False) -> list[dict]:
        """Send each peer its payload; raise if any does not acknowledge. Returns the receipts
        the peers signed (asked for when readings are replicated on ingest)."""
        failures, receipts = [], []

        async def one(peer: str, payload: dict) -> None:
            try:
                request = WindowState.of(payload, want_receipts)
                reply = await self.rpc.call(peer, MERGE, request)
                if reply.receipt is not None:
                    receipts.append(reply.receipt)
            except Exception as exc:  # noqa: BLE001
                if isinstance(exc, PeerUnavailable):
                    self.membership.mark_dead(peer)
                failures.append(peer)

        async with trio.open_nursery() as nursery:
            for peer, payload in groups.items():
                nursery.start_soon(one, peer, payload)
        await self._remember(set(groups) - set(failures))
        if failures:
            raise PeerUnavailable(f"replication to {len(failures)} aggregator(s) failed")
        return receipts

    async def handle_merge(self, state: WindowState, caller: str) -> MergeReply:
        await self._remember({caller})
        await self._merge(state.to_wire(), f"merge from …{caller[-6:]}")
        if state.readings:
            self._last_input = time.monotonic()
        for row in state.devices:
            self._touched[row[0]] += 1
            self._fresh.add(row[0])
        receipt = self._receipt(state.readings, caller) if state.want_receipt else None
        return MergeReply(len(state.readings), receipt)

    def _receipt(self, rows: list[list], primary: str) -> dict | None:
        """Our signed receipt (services/peers/receipts.py) for the readings of this merge that we
        now hold: each row's digest recomputed from its content, and the one we hold the same."""
        rows = [r for r in rows if r[4] is not None]
        held = self.windows.digests_held([(r[0], r[1]) for r in rows])
        covered: dict[str, set] = defaultdict(set)
        for device, seq, _, ts, hr, rr, digest, *_ in rows:
            if digest == held.get((device, seq)) == row_digest(hr, ts, rr, self.windows.digest_key):
                covered[device].add((seq, digest))
        if not covered:
            return None
        return sign_receipt(self.signer.key_pair, self.signer.peer_id, self.signer.credential,
                            primary, covered)


def _attested_digests(readings: list[dict], documents: dict) -> list[str | None]:
    """Each reading's digest as its master attested it (None where no document names it, or
    names its (device, seq) more than once — one call can carry a reading and a replay of its
    seq with other content, and a digest keyed on (device, seq) alone would give the replay the
    original's digest): the window store keys deduplication on it instead of computing the HMAC
    again. Trusting it costs nothing — only a master may call agg.ingest, and storage recomputes
    every digest from the content and refuses a window whose readings the attestation does not
    cover."""
    attested: dict[tuple, str | None] = {}
    for device, document in documents.items():
        try:
            for seq, digest in document["body"]["readings"]:
                if type(seq) is int and type(digest) is str:
                    key = (device, seq)
                    attested[key] = digest if attested.get(key, digest) == digest else None
        except (KeyError, TypeError, ValueError):
            continue  # no digests from this one: they are computed
    return [attested.get((r["userId"], r["seq"])) for r in readings]
