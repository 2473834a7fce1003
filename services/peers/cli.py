"""`pulseledger peer` (one peer, one or several roles) and `pulseledger peers up` (supervised)."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import click
import trio

from services.peers.settings import ALL_ROLES, PeersSettings


def _settings(**overrides) -> PeersSettings:
    return PeersSettings(**{k: v for k, v in overrides.items() if v not in (None, ())})


async def _serve(settings: PeersSettings) -> None:
    from services.ingest.settings import ingest_settings_for
    from services.peers.node import PeerNode
    from services.peers.peer_processes import addr_dir
    from services.runtime.gc_tuning import tune_for_throughput

    node = PeerNode(settings, ingest_settings_for(settings.data_dir))
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        tune_for_throughput()  # what start-up built is kept for good: no pass re-scans it
        folder = addr_dir(settings.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f"{settings.name}.addr.tmp"
        temporary.write_text(node.address)
        os.replace(temporary, folder / f"{settings.name}.addr")
        click.echo(f"peer {settings.name} {node.address} roles={','.join(node.roles)}")
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                node.stop()  # drain: in-flight calls are cancelled, unacked work is redelivered
                nursery.cancel_scope.cancel()
                break


@click.command("peer")
@click.option("--role", "roles", multiple=True, type=click.Choice(ALL_ROLES),
              help="Role(s) for this process; several make one multi-role peer (default: all).")
@click.option("--name", help="Identity name: data_dir/keys/<name>.key (created once, kept).")
@click.option("--data-dir", type=click.Path(path_type=Path))
@click.option("--port", "listen_port", type=int, help="TCP port on 127.0.0.1 (default: any free).")
@click.option("--bootstrap", multiple=True, help="Multiaddr of any live peer (repeatable).")
def peer(roles, name, data_dir, listen_port, bootstrap) -> None:
    """Run one peer of the pipeline."""
    logging.basicConfig(level=os.environ.get("PULSELEDGER_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from services.peers.library_logs import quiet_libp2p

    quiet_libp2p()  # its dial retries are our routine (after `import libp2p` reset its logger)
    settings = _settings(roles=tuple(roles), name=name, data_dir=data_dir,
                         listen_port=listen_port, bootstrap=tuple(bootstrap))
    trio.run(_serve, settings)


@click.group("peers")
def peers() -> None:
    """Run the peer network under a supervisor."""


@peers.command("up")
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path(".pulseledger"))
@click.option("--separate/--together", default=False,
              help="One process per role (plus a second master and aggregator), or one process.")
def up(data_dir: Path, separate: bool) -> None:
    """Start the peers and restart any that dies, until Ctrl-C."""
    from services.peers.backends import open_record_store
    from services.peers.peer_processes import PeerSpec, PeerSupervisor

    # Create the record store (and its master key) once, before peers race to do it.
    open_record_store(PeersSettings(data_dir=data_dir)).close()
    if separate:
        specs = [PeerSpec("master-1", ("master",)), PeerSpec("master-2", ("master",)),
                 PeerSpec("aggregation-1", ("aggregation",)),
                 PeerSpec("aggregation-2", ("aggregation",)),
                 PeerSpec("prediction-1", ("prediction",)), PeerSpec("storage-1", ("storage",)),
                 PeerSpec("notification-1", ("notification",))]
    else:
        specs = [PeerSpec("node-1", ALL_ROLES)]
    supervisor = PeerSupervisor(data_dir, specs, log_dir=data_dir / "logs")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        supervisor.run_forever(lambda: bool(stopping))
    except KeyboardInterrupt:
        supervisor.stop()


if __name__ == "__main__":  # the supervisor starts peers as `python -m services.peers.cli peer`
    click.Group(commands={"peer": peer, "peers": peers})()
