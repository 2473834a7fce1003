"""Peer settings (env prefix PULSELEDGER_PEERS_). Every timeout and grace period is here, so
tests set them small."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.alerts import AlertSettings
from services.records.base import MIN_CHANGES_RETENTION_S

if TYPE_CHECKING:
    from services.chain.settings import ChainSettings

ALL_ROLES = ("master", "aggregation", "prediction", "storage", "notification")


class PeersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_PEERS_")

    data_dir: Path = Path(".pulseledger")
    name: str = "node"  # identity file name under data_dir/keys: one identity per peer
    roles: tuple[str, ...] = ALL_ROLES
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    bootstrap: tuple[str, ...] = ()  # multiaddrs of any live peers, /ip4/../tcp/../p2p/<id>

    # Admission (docs/peers.md): the operator's Ed25519 public key (hex; default: the file
    # data_dir/admission/operator.pub), this peer's credential (inline JSON, or the file
    # credential_file, default data_dir/admission/credentials/<name>.json) and the revocation
    # list file (default data_dir/admission/revocations.json, re-read when it changes). A peer
    # without a valid credential does not start; a remote peer without one is disconnected.
    operator_public_key: str = ""
    credential: str = ""  # never logged
    credential_file: Path | None = None
    revocation_file: Path | None = None
    # Readings' digests (dedupe in the window store, the masters' attestations) are HMACs under
    # this network-wide key (hex; default: the file data_dir/admission/digest.key), so a digest
    # kept after a window closed does not give its heart rate away (a plain hash would: the
    # inputs are few enough to try them all). Never logged.
    digest_key: str = ""
    # A private network (libp2p PSK, hex, 32 bytes; default: the file data_dir/admission/
    # network.psk if it exists, else none): an outer fence in front of admission — a dialler
    # without it never gets as far as a Noise handshake. One secret shared by every peer, so
    # admission stays the check that counts (docs/peers.md). Never logged.
    network_psk: str = ""
    # The credential exchange on a new connection. Generous: a peer busy starting (or a host
    # under load) must not be refused as a stranger; a stranger only holds a connection that long.
    admission_timeout_s: float = 10.0
    # Inbound connections waiting to present a credential (each up to the timeout above), at
    # most this many at once and from one remote address; one more is closed at once
    # (admission/gate.py). At most the gate's queue of new connections (1,024).
    admission_pending_max: int = Field(256, ge=1, le=1024)
    admission_pending_per_address: int = Field(32, ge=1, le=1024)
    revocation_poll_s: float = 1.0  # how often the revocation file is checked and gossiped

    # Control plane (gossipsub): the network's presence notes per second are shared by its
    # peers, each announcing every live-peers / budget seconds but never more often than the
    # interval; a peer silent for four of its announced intervals (at least the timeout) is
    # gone. 0 keeps every peer at the interval. (presence_pacing.py)
    presence_interval_s: float = 1.0
    presence_timeout_s: float = 4.0
    presence_budget_per_s: float = 5.0
    # Gossip mesh degree (target, low, high). Every peer here connects to every other, so the
    # mesh only sets how many copies of each note a peer receives: the gossipsub default (6)
    # made each peer take up to six copies of every note, and the control plane alone then
    # grew with the square of the cluster (an idle 11-process cluster saturated two cores).
    # Three keeps the mesh connected with spares; heartbeat gossip (IHAVE) repairs a gap.
    gossip_degree: int = 3
    gossip_degree_low: int = 2
    gossip_degree_high: int = 5
    reconnect_interval_s: float = 1.0
    rpc_timeout_s: float = 10.0
    # Aggregator DHT: a network lookup this often (and at start, and when the table lacks a
    # live aggregator); it discovers aggregators we have no address of yet.
    dht_lookup_interval_s: float = 30.0

    # Windows: aligned to window_ms by device time; close when the user's watermark (latest
    # device timestamp) passes end + grace, or when the user has fallen idle_close_s behind the
    # other users (device time), or when the aggregator has received nothing for quiet_flush_s
    # (wall time: the stream stopped). A device that sends batches of b seconds needs
    # grace + idle_close above b.
    window_ms: int = 10_000
    grace_ms: int = 3_000
    idle_close_s: float = 15.0
    quiet_flush_s: float = 5.0
    close_tick_s: float = 0.2
    # The source watermark (the oldest message a live master still holds, in its presence
    # notes) holds windows back until it passes their end + grace — by at most this much: a
    # message stuck in a queue, or a master that reports a watermark of 0, must not stop every
    # window from closing. Readings that come later still are dead-lettered as late. Above
    # master_route_patience_s, so a batch a master keeps routing through an outage is waited for.
    source_hold_max_s: float = 120.0
    close_batch_max: int = 1000  # windows per close round: smaller rounds, lower latency
    rebalance_interval_s: float = 1.0
    # A primary with no live replica waits this long for the aggregators it shared state with
    # before closing windows alone (one of them may hold readings it lacks; see aggregation).
    solo_close_after_s: float = 30.0
    # A replica closes windows its live primary left unclosed this long after they fell due
    # (services/peers/overdue.py). Well above a normal closing delay, backlogs included.
    takeover_after_s: float = 120.0
    dedupe_retention_s: float = 3_600.0
    # Readings found outside every stored window are kept and sent to storage as parts of their
    # windows (roles/aggregation_unsent.py); a send that failed is tried again after this.
    unsent_retry_s: float = 5.0
    # At most this many are kept so (an admitted aggregator turned hostile could otherwise grow
    # the table without end); past it they are dead-lettered as late, with the reason.
    unsent_limit: int = Field(1_000_000, ge=1)
    # A reading that arrives after its window closed (a device that dropped out mid-window sends
    # the rest later) is dead-lettered as late, and kept in `unsent` too: this long after, when
    # its master's dead letter surely exists, it is stored as a part of its window and the
    # letter retired (roles/aggregation_unsent.py). Well above a master's ingest call.
    late_hold_s: float = Field(30.0, ge=0)

    # Master: how many queue messages one pull takes, and how long to wait when it is empty.
    master_batch: int = 500
    master_idle_poll_s: float = 0.05
    master_concurrency: int = 2
    # Worker processes a master validates its pulls on (services/peers/master_validation.py):
    # 0 validates in the peer's own event loop. A spare core each: the all-in-one peer of a
    # 2-core host takes 1 (its validation then runs beside its closing, not between it).
    validation_workers: int = 0
    # An aggregator's ingest on a worker process of its own (services/peers/ingest_process.py):
    # its SQLite writes then run beside the close rounds instead of taking turns with them. A
    # spare core: the all-in-one peer of a 2-core host takes it (benchmark phase 1: live
    # 8,060 -> 9,642/s, p99 859 ms; docs/decisions/2026-12-05-all-in-one-loop-bound.md).
    ingest_process: bool = False
    # A master starts pulling only once its view of the live aggregators has not changed for
    # this long (they are still announcing themselves when it starts): readings routed on a
    # half-formed view bounce as `not_primary`, and in a backlog other masters move the
    # device's watermark past the grace meanwhile, so they came back late.
    master_settle_s: float = 2.0
    # How long a master keeps routing a pulled batch that no aggregator has acknowledged yet
    # (renewing its locks meanwhile) before it gives the batch back to the queue. Giving back
    # costs each message a delivery: an outage of the aggregators longer than a few of these
    # used to park good readings as poison (max_delivery_count). The batch stays with a master
    # that cannot route it; one that dies loses its locks and the batch goes to another.
    master_route_patience_s: float = 60.0

    # Storage: batch anchoring.
    anchor_interval_s: float = 5.0
    anchor_batch_max: int = 4096
    # Storage: the record store's change log (it feeds the gateway's live streams and the
    # market's late windows) gets a row per window stored, ~86 million a day at 1,000
    # windows/s. The storage peer that anchors trims changes older than the retention every
    # interval; a client whose cursor is older gets a `reset` and reloads (docs/records.md).
    changes_retention_s: float = Field(default=7 * 86_400, ge=MIN_CHANGES_RETENTION_S)
    changes_trim_interval_s: float = Field(default=3_600.0, gt=0)
    # ... and, in the same pass, forgets dead-letter retirements older than this: a late
    # reading's letter, retired once the reading was stored, is remembered so that a master
    # writing that letter later (a redelivery) makes none. Longer than any redelivery's delay.
    retired_letters_retention_s: float = Field(default=7 * 86_400, ge=86_400)
    # Where the ledger is: explicit settings win; otherwise the ledger address (and the record
    # store's chain namespace) come from the deployments file `ape run deploy` wrote, and the
    # RPC URL from PULSELEDGER_CHAIN_RPC_URL. Anchoring is on when a custodian key is set and
    # a ledger is known.
    chain_rpc_url: str = ""
    ledger_address: str = ""
    custodian_private_key: str = ""  # never logged
    deployments_file: Path | None = None  # default: see deployments_path()

    # Notification: the alert rule's settings are PULSELEDGER_ALERTS_* (services/alerts), the
    # gateway's too; `alerts` set here (tests, embedding) wins over them.
    alerts: AlertSettings | None = None
    # A notification peer new to a user (or with a hole in its history) replays the user's
    # stored predictions from at most this far before the window at hand; 0: never.
    alert_catchup_ms: int = 3_600_000
    # The sender hands queued alert emails to the mail system this many at a time; while the
    # mail system is unavailable it retries after notify_retry_min_s, doubling up to _max_s.
    notify_send_batch: int = 500
    notify_retry_min_s: float = 1.0
    notify_retry_max_s: float = 60.0
    # The sender on a worker process of its own (services/peers/notification_sender.py): an
    # alert burst's emails are rendered and handed over beside the close rounds, not under
    # the peer's GIL. A spare core: the all-in-one peer of a 2-core host takes it.
    notify_send_process: bool = False
    # A sent email's ledger key (what stops a redelivered batch sending it twice) is forgotten
    # this long after it was settled (services/peers/notification_ledger.py); checked hourly.
    notify_sent_retention_s: float = 7 * 86_400.0
    # Where alert emails link to (the patient's heart data around the alert; services/notify/links.py).
    dapp_url: str = "http://127.0.0.1:5173"

    # Status: each peer writes its counters to data_dir/metrics/<name>.json every second; with
    # latency_log it also appends "<wall time it fell due> <due → stored ms>" per window to
    # <name>-latency.txt.
    latency_log: bool = False
    status_port: int | None = None  # /healthz and /metrics on 127.0.0.1 (0: any free port)

    @model_validator(mode="after")
    def _validation_workers_counted(self) -> PeersSettings:
        if not 0 <= self.validation_workers <= 64:
            raise ValueError("validation_workers must be 0 (validate in the peer) to 64")
        return self

    @model_validator(mode="after")
    def _notify_sender_bounded(self) -> PeersSettings:
        if self.notify_send_batch < 1:
            raise ValueError("notify_send_batch must be at least 1")
        if not 0 < self.notify_retry_min_s <= self.notify_retry_max_s:
            raise ValueError("notify retries need 0 < notify_retry_min_s <= notify_retry_max_s")
        if self.notify_sent_retention_s < 3_600:
            raise ValueError("notify_sent_retention_s must be at least an hour (3600): a batch "
                             "redelivered after its key went would send its emails again")
        return self

    @model_validator(mode="after")
    def _gossip_degrees_ordered(self) -> PeersSettings:
        if not 1 <= self.gossip_degree_low <= self.gossip_degree <= self.gossip_degree_high:
            raise ValueError("gossip degrees must satisfy 1 <= gossip_degree_low <= "
                             "gossip_degree <= gossip_degree_high")
        return self

    @property
    def metrics_dir(self) -> Path:
        return self.data_dir / "metrics"

    @property
    def notify_ledger_path(self) -> Path:
        return self.data_dir / "notify-ledger.db"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def admission_dir(self) -> Path:
        return self.data_dir / "admission"

    def operator_public_key_hex(self) -> str:
        if self.operator_public_key:
            return self.operator_public_key
        path = self.admission_dir / "operator.pub"
        if not path.exists():
            raise RuntimeError(f"no operator public key: set PULSELEDGER_PEERS_OPERATOR_PUBLIC_KEY "
                               f"or write {path} (pulseledger operator init)")
        return path.read_text().strip()

    def digest_key_bytes(self) -> bytes:
        if self.digest_key:
            return bytes.fromhex(self.digest_key)
        path = self.admission_dir / "digest.key"
        if not path.exists():
            raise RuntimeError(f"no digest key: set PULSELEDGER_PEERS_DIGEST_KEY or write {path} "
                               "(the operator's; `pulseledger up` makes one)")
        return bytes.fromhex(path.read_text().strip())

    def network_psk_hex(self) -> str | None:
        """The private network's key as py-libp2p takes it (64 hex digits), or None: no PSK."""
        value = self.network_psk
        if not value:
            path = self.admission_dir / "network.psk"
            value = path.read_text().strip() if path.exists() else ""
        if not value:
            return None
        if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
            raise RuntimeError("the network PSK must be 32 bytes in hex (64 digits)")
        return value.lower()

    def credential_path(self) -> Path:
        return self.credential_file or self.admission_dir / "credentials" / f"{self.name}.json"

    def credential_document(self) -> dict:
        import json

        if self.credential:
            return json.loads(self.credential)
        path = self.credential_path()
        if not path.exists():
            raise RuntimeError(f"no credential for peer {self.name}: set PULSELEDGER_PEERS_CREDENTIAL "
                               f"or write {path} (pulseledger operator issue)")
        return json.loads(path.read_text())

    def revocation_path(self) -> Path:
        return self.revocation_file or self.admission_dir / "revocations.json"

    def chain(self) -> ChainSettings:
        """The chain block every service reads (PULSELEDGER_CHAIN_*), with the older
        PULSELEDGER_PEERS_CHAIN_RPC_URL winning when set (services/chain/settings.py). The
        deployments file is found by `deployments_path()`, which has fallbacks of its own."""
        from services.chain.settings import ChainSettings

        return ChainSettings().for_service(self, {"rpc_url": "chain_rpc_url"})

    def deployments_path(self) -> Path | None:
        """The deployments file to read: `deployments_file`, else PULSELEDGER_CHAIN_DEPLOYMENTS,
        else the first that exists of data_dir/deployments.json (a standalone peer beside
        `ape run deploy`'s default .pulseledger/deployments.json) and data_dir/../deployments.json
        (the stack: state_dir/deployments.json, peers in state_dir/peers). None: no ledger known."""
        if self.deployments_file is not None:
            return self.deployments_file
        from services.chain.settings import ChainSettings

        chain = ChainSettings()
        if "deployments" in chain.model_fields_set:
            return chain.deployments
        for candidate in (self.data_dir / "deployments.json",
                          self.data_dir.parent / "deployments.json"):
            if candidate.is_file():
                return candidate
        return None
