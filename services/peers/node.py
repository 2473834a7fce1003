"""One peer process (or one of several peers in a test): a libp2p host, the gossipsub control
plane, the RPC data plane, and the roles it was given."""

from __future__ import annotations

import json
import logging
import os

import trio
from libp2p.tools.anyio_service import background_trio_service

from services.ingest.settings import IngestSettings
from services.peers import backends
from services.peers.admission.gate import AdmissionGate, PendingBounds
from services.peers.admission.gated_pubsub import GatedPubsub
from services.peers.admission.operator_key import public_key_from_hex
from services.peers.admission.revocation import Revocations
from services.peers.admission.revocation_gossip import RevocationGossip
from services.peers.aggregator_dht import make_aggregator_dht
from services.peers.assignment import ranked
from services.peers.attestation import AttestationCheck
from services.peers.dial_source import dial_from
from services.peers.directory import Directory
from services.peers.host import listen_addr, make_host
from services.peers.identity import load_or_create_key_pair
from services.peers.membership import Membership, make_gossipsub
from services.peers.notification_sender import SenderProcess
from services.peers.receipts import ReceiptCheck
from services.peers.rpc import PeerUnavailable, RemoteError, Rpc
from services.peers.settings import PeersSettings
from services.peers.signer import Signer
from services.runtime.health_server import HealthServer, counters_metrics, text_health

log = logging.getLogger(__name__)


class NoPeerForRole(Exception):
    pass


class PeerNode:
    def __init__(self, settings: PeersSettings, ingest_settings: IngestSettings | None = None,
                 *, store=None, queue=None, predictor=None, notifier=None, anchor=None):
        self.settings = settings
        self.ingest_settings = ingest_settings or IngestSettings()
        # The settings the store was opened from (None: handed to us), for processes that open
        # their own handle on it (the master's validation workers)
        self._store_settings = None if store is not None else backends.records_settings(
            settings.data_dir, settings.deployments_path())
        self.store = store or backends.open_store_from(self._store_settings)
        self._queue, self._predictor, self._notifier = queue, predictor, notifier
        self._anchor = anchor
        self.roles: dict[str, object] = {}
        self.ready = trio.Event()
        self._cancel = trio.CancelScope()
        self.address: str = ""
        self.status = None

    @property
    def peer_id(self) -> str:
        return self.rpc.self_id

    def _build_roles(self) -> None:
        from services.peers.roles.aggregation import AggregationRole
        from services.peers.roles.master import MasterRole
        from services.peers.roles.notification import NotificationRole
        from services.peers.roles.prediction import PredictionRole
        from services.peers.roles.storage import StorageRole

        wanted = set(self.settings.roles)
        aggregation = None
        if "aggregation" in wanted:
            aggregation = AggregationRole(
                settings=self.settings, rpc=self.rpc, membership=self.membership,
                directory=self.directory, store=self.store, signer=self.signer,
                call_role=self.call_role, call_role_by_key=self.call_role_by_key)
        if "master" in wanted:
            if self._queue is None:
                from services.ingest.queues.factory import open_queue

                self._queue = open_queue(self.ingest_settings)
            master = MasterRole(
                settings=self.settings, ingest_settings=self.ingest_settings, queue=self._queue,
                store=self.store, rpc=self.rpc, membership=self.membership,
                directory=self.directory, signer=self.signer,
                receipts=ReceiptCheck(self.gate.operator, self.gate.revocations),
                closing_gate=aggregation.yield_to_closing if aggregation is not None else None,
                records_for_workers=self._store_settings)
            self.membership.report_queue_busy(master.busy)
            self.membership.report_queue_low(lambda: master.queue_low_ms)
            self.roles["master"] = master
        if aggregation is not None:
            self.roles["aggregation"] = aggregation
        if "prediction" in wanted:
            self.roles["prediction"] = PredictionRole(
                rpc=self.rpc, predictor=self._predictor or backends.open_predictor(self.settings))
        if "storage" in wanted:
            anchor = self._anchor if self._anchor is not None else backends.open_anchor(self.settings)
            self.roles["storage"] = StorageRole(
                settings=self.settings, rpc=self.rpc, membership=self.membership,
                store=self.store, anchor=anchor, attestations=AttestationCheck(
                    self.gate.operator, self.gate.revocations, self.settings.digest_key_bytes()))
        if "notification" in wanted:
            # the sender's process opens the notifier the settings name: not one handed to us
            sender = (SenderProcess(self.settings.notify_ledger_path, self.settings)
                      if self.settings.notify_send_process and self._notifier is None else None)
            self.roles["notification"] = NotificationRole(
                settings=self.settings, rpc=self.rpc, store=self.store,
                notifier=self._notifier or backends.open_notifier(self.settings),
                tracker=backends.open_alert_tracker(self.settings), sender_process=sender)

    async def call_role(self, role: str, op: str, request):
        """Call `op` (its request class: services/peers/messages) on a live peer with `role`:
        ourselves first, then others in a stable order (spread by our own id); a peer that does
        not acknowledge is skipped and suspected. Returns the op's reply."""
        candidates = self.membership.live(role)
        if not candidates:
            raise NoPeerForRole(role)
        order = ranked(self.rpc.self_id, candidates)
        if self.rpc.self_id in order:
            order.remove(self.rpc.self_id)
            order.insert(0, self.rpc.self_id)
        last_error: Exception | None = None
        for peer in order:
            try:
                return await self.rpc.call(peer, op, request)
            except PeerUnavailable as exc:
                self.membership.mark_dead(peer)
                last_error = exc
            except RemoteError as exc:
                last_error = exc
        raise last_error or NoPeerForRole(role)

    async def call_role_by_key(self, role: str, op: str, items: list[dict], key,
                               request) -> None:
        """Send each item to the live `role` peer closest to key(item) (falling back to the
        next closest), so one peer sees all of a key's items while it lives; `request` makes
        the op's request of a group of items."""
        groups: dict[str, list[dict]] = {}
        candidates = self.membership.live(role)
        if not candidates:
            raise NoPeerForRole(role)
        for item in items:
            groups.setdefault(ranked(key(item), candidates)[0], []).append(item)
        for first, group in groups.items():
            order = [first] + [p for p in ranked(key(group[0]), candidates) if p != first]
            last_error: Exception | None = None
            for peer in order:
                try:
                    await self.rpc.call(peer, op, request(group))
                    last_error = None
                    break
                except PeerUnavailable as exc:
                    self.membership.mark_dead(peer)
                    last_error = exc
                except RemoteError as exc:
                    last_error = exc
            if last_error is not None:
                raise last_error

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        try:
            await self._run(task_status)
        finally:
            if self.status is not None:
                self.status.stop()

    async def _run(self, task_status) -> None:
        settings = self.settings
        key_pair = load_or_create_key_pair(settings.keys_dir / f"{settings.name}.key")
        host = make_host(key_pair, settings.network_psk_hex())
        self.key_pair = key_pair  # what roles sign with (their `signer`)
        dial_from(host, settings.listen_host)  # a host's peers dial from its own address
        operator = public_key_from_hex(settings.operator_public_key_hex())
        revocations = Revocations(operator, settings.revocation_path())
        gate = AdmissionGate(host, operator, settings.credential_document(), revocations,
                             settings.admission_timeout_s,
                             PendingBounds(settings.admission_pending_max,
                                           settings.admission_pending_per_address))
        beyond = set(settings.roles) - gate.own.roles
        if beyond:
            raise RuntimeError(f"the credential does not grant roles {sorted(beyond)}")
        self.gate = gate
        with self._cancel:
            async with host.run([listen_addr(settings.listen_host, settings.listen_port)]):
                gossipsub = make_gossipsub(settings)
                pubsub = GatedPubsub(host, gossipsub, gate)
                async with background_trio_service(pubsub), background_trio_service(gossipsub):
                    await pubsub.wait_until_ready()
                    self.host = host
                    self.rpc = Rpc(host, settings.rpc_timeout_s, gate)
                    self.membership = Membership(host, pubsub, settings.roles, settings, gate)
                    self.rpc.on_peer_seen = self.membership.seen
                    aggregator = "aggregation" in settings.roles
                    dht = make_aggregator_dht(host, server=aggregator)
                    self.directory = Directory(host, dht, self.membership, settings,
                                               aggregator=aggregator)
                    self.signer = Signer(key_pair, self.rpc.self_id, gate.own_document)
                    self._build_roles()
                    gate.guard_handlers()  # every handler is registered now (pubsub, DHT, rpc)
                    self.address = str(host.get_addrs()[0])
                    if settings.status_port is not None:
                        self.status = HealthServer(
                            settings.status_port, health=lambda: text_health(self.ready.is_set()),
                            metrics=counters_metrics(self.metrics, "pulseledger_peers")).start()
                    async with background_trio_service(dht), trio.open_nursery() as nursery:
                        await nursery.start(gate.run)
                        self.revocation_gossip = RevocationGossip(
                            pubsub, revocations, settings.revocation_poll_s, self.peer_id)
                        await nursery.start(self.revocation_gossip.run)
                        await nursery.start(self.membership.run)
                        await nursery.start(self.directory.run)
                        for role in self.roles.values():
                            nursery.start_soon(role.run)
                        nursery.start_soon(self._write_metrics)
                        self.ready.set()
                        task_status.started(self)
                        log.info("peer %s up with roles %s", self.peer_id[-8:], ",".join(self.roles))

    def metrics(self) -> dict:
        out = {"live_peers": len(self.membership.live()) if hasattr(self, "membership") else 0}
        if hasattr(self, "membership"):
            out["presence_interval_s"] = round(self.membership.interval_s, 3)
            out.update(self.membership.metrics())
        if hasattr(self, "rpc"):
            out.update(self._connection_metrics())
            out.update(self.gate.metrics())
            out.update(self.rpc.metrics())
        if hasattr(self, "revocation_gossip"):
            out.update(self.revocation_gossip.metrics())
        if hasattr(self, "directory"):
            out.update(self.directory.metrics())
        for role in self.roles.values():
            out.update(role.metrics())
        return out

    def _connection_metrics(self) -> dict:
        """Open connections, and peers we hold more than one to: two peers dialling each other
        at once end up with two, and streams stuck on a half-closed one time out."""
        per_peer = self.host.get_network().get_connections_map()
        counts = [sum(not c.is_closed for c in conns) for conns in per_peer.values()]
        return {"peer_connections": sum(counts),
                "peers_with_several_connections": sum(n > 1 for n in counts)}

    async def _write_metrics(self) -> None:
        """Counters for status pages and benchmarks (no health values, no ids of patients)."""
        folder = self.settings.metrics_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{self.settings.name}.json"
        while True:
            temporary = target.with_suffix(".tmp")
            temporary.write_text(json.dumps({"peer_id": self.peer_id, **self.metrics()}))
            os.replace(temporary, target)
            await trio.sleep(1.0)

    def stop(self) -> None:
        self._cancel.cancel()
