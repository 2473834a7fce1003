"""`pulseledger model ...`: rebuild, evaluate and query the irregular-rhythm model."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from services.predict.settings import PredictSettings


@click.group("model")
def model() -> None:
    """Irregular-rhythm screening model (a screen, not a diagnosis)."""


@model.command()
@click.option("--seed", type=int, default=None, help="Training seed (default: the shipped one).")
@click.option("--out-dir", type=click.Path(path_type=Path), default=None,
              help="Write here instead of over the shipped model.")  # fmt: skip
def train(seed: int | None, out_dir: Path | None) -> None:
    """Rebuild the model from scratch, offline and deterministically."""
    from services.predict.training.train import TRAINING_SEED, build, write

    settings = PredictSettings()
    model_path, metadata_path = settings.model_path, settings.metadata_path
    if out_dir is not None:
        model_path, metadata_path = out_dir / model_path.name, out_dir / metadata_path.name
    model_bytes, metadata = build(TRAINING_SEED if seed is None else seed)
    write(model_bytes, metadata, model_path, metadata_path)
    click.echo(f"{model_path} sha256 {metadata['sha256']} ({len(model_bytes)} bytes)")


@model.command()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write figures as JSON.")
def evaluate(out: Path | None) -> None:
    """Evaluate the shipped model on held-out simulated people and real recordings."""
    from services.predict.base import load_predictor
    from services.predict.training.evaluate import evaluate as run

    figures = run(load_predictor(PredictSettings(backend="onnx")))
    text = json.dumps(figures, indent=2)
    if out:
        out.write_text(text + "\n")
    click.echo(text)


@model.command()
def warm() -> None:
    """Compile the screen's feature and fingerprint passes into numba's on-disk cache.

    A fresh install's first prediction would otherwise wait ~8 s for them; `make setup` runs
    this, and so should a container image's build step.
    """
    import time

    from services.predict.base import load_predictor

    started = time.perf_counter()
    load_predictor(PredictSettings(backend="onnx"))
    click.echo(f"screen ready in {time.perf_counter() - started:.1f} s")


@model.command()
@click.option("--backend", type=click.Choice(["onnx", "sagemaker"]), default=None)
def predict(backend: str | None) -> None:
    """Read windows as JSON lines on stdin, write one prediction per line.

    Each line: {"user_id": ..., "start_ms": ..., "heart_rates": [...], "rr_ms": [...] or null,
    "signal": "rr" | "hr_instantaneous" | "hr_averaged"}, optionally with the same person's
    minute before as "context_heart_rates" / "context_rr_ms"; a line without signal is answered
    insufficient_data with the reason.
    """
    from services.predict.base import Window, load_predictor

    settings = PredictSettings(**({"backend": backend} if backend else {}))
    predictor = load_predictor(settings)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
            window = Window(
                user_id=str(fields["user_id"]),
                start_ms=int(fields["start_ms"]),
                heart_rates=fields["heart_rates"],
                rr_ms=fields.get("rr_ms"),
                signal=fields.get("signal"),
                context_heart_rates=fields.get("context_heart_rates"),
                context_rr_ms=fields.get("context_rr_ms"),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise click.ClickException(f"bad window line: {error}") from error
        click.echo(json.dumps(asdict(predictor.predict(window))))
