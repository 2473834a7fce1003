import json

from click.testing import CliRunner
from predict_samples import IRREGULAR_HR, REGULAR_HR

from services.cli import main


def test_model_predict__json_lines_in__predictions_out(predictor):
    lines = [
        {"user_id": "a", "start_ms": 0, "heart_rates": REGULAR_HR, "signal": "hr_instantaneous"},
        {"user_id": "b", "start_ms": 0, "heart_rates": IRREGULAR_HR, "rr_ms": None, "signal": "rr"},
        {"user_id": "c", "start_ms": 0, "heart_rates": [60], "signal": "rr"},
        {"user_id": "d", "start_ms": 0, "heart_rates": REGULAR_HR},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = CliRunner().invoke(main, ["model", "predict", "--backend", "onnx"], input=stdin)
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.output.splitlines()]
    statuses = ["regular", "irregular", "insufficient_data", "insufficient_data"]
    assert [a["status"] for a in answers] == statuses
    assert answers[3]["reason"].startswith("signal: not declared")
    assert all(a["model_sha256"] == predictor.model_sha256 for a in answers)


def test_model_predict__bad_line__clear_error():
    result = CliRunner().invoke(main, ["model", "predict"], input='{"user_id": "a"}\n')
    assert result.exit_code != 0
    assert "bad window line" in result.output


def test_model_warm__compiles_and_reports_ready():
    result = CliRunner().invoke(main, ["model", "warm"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("screen ready in ")
