"""The model card's figures are the recorded ones: its tables are rendered from
benchmarks/model.json (tools/render_model_card.py), and a card edited by hand or left behind a
re-recorded model.json fails here."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_model_card_figures__rendered_from_model_json():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "render_model_card.py"),
                             "--check"], check=False, capture_output=True, text=True)
    assert result.returncode == 0, (
        "docs/model-card.md's figures differ from benchmarks/model.json: run "
        "`uv run python tools/render_model_card.py`")
