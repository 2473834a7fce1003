"""`pulseledger simulate`: a fleet of signed wearables writing readings to the ingest queue."""

from __future__ import annotations

from pathlib import Path

import click

from services.ingest.settings import ingest_settings_for


@click.command("simulate")
@click.option("--users", default=10, show_default=True, help="How many wearables.")
@click.option("--seconds", default=60, show_default=True, help="How long, at 1 Hz each.")
@click.option("--irregular", "irregular_fraction", default=0.1, show_default=True,
              help="Fraction of users with an irregular (AF-like) rhythm.")
@click.option("--batch", "batch_size", default=1, show_default=True,
              help="Readings per signature (1 = each reading signed).")
@click.option("--fast", is_flag=True, help="Do not wait: emit the same timestamps at once.")
@click.option("--aligned", is_flag=True,
              help="Every device reads and sends at the same instant (the worst case for the "
                   "aggregators) instead of each at its own millisecond and batch second.")
@click.option("--signal", type=click.Choice(["rr", "hr_instantaneous", "hr_averaged"]),
              default="rr", show_default=True,
              help="What the devices send: beat-to-beat intervals (rr), or a heart rate only — "
                   "from the last beat (hr_instantaneous) or averaged over beats (hr_averaged).")
@click.option("--replay", type=click.Path(exists=True, path_type=Path),
              help='JSON lines {"device": i, "heartrate": x, "rr": [...]} instead of the model.')
@click.option("--seed", default="pulseledger", show_default=True, help="Device keys derive from it.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path(".pulseledger"),
              show_default=True, help="Where the record store is (devices are onboarded there).")
def simulate(users, seconds, irregular_fraction, batch_size, fast, aligned, signal, replay, seed,
             data_dir) -> None:
    """Onboard N simulated devices and stream their signed readings into the queue."""
    from services.ingest.queues.factory import open_queue
    from services.ingest.simulator import load_replay, make_fleet, onboard, run
    from services.peers.backends import open_record_store
    from services.peers.settings import PeersSettings

    settings = ingest_settings_for(data_dir)
    store = open_record_store(PeersSettings(data_dir=data_dir))
    fleet = make_fleet(users, irregular_fraction, seed, stagger=not aligned, signal=signal)
    onboard(fleet, store)
    queue = open_queue(settings)
    try:
        written = run(queue, fleet, seconds, batch_size, realtime=not fast,
                      replay=load_replay(replay) if replay else None)
    finally:
        queue.close()
    click.echo(f"wrote {written} readings from {users} devices")
