"""`pulseledger devices serve`: found by the one entry point, and refuses settings under which a
valid message could never pass before serving anything."""

from click.testing import CliRunner

from services.cli import main


def test_devices_serve__help_names_its_settings():
    result = CliRunner().invoke(main, ["devices", "serve", "--help"])
    assert result.exit_code == 0, result.output
    assert "PULSELEDGER_DEVICE_INGEST_" in result.output and "--data-dir" in result.output


def test_devices_serve__device_burst_below_the_largest_batch__refused_at_start(tmp_path,
                                                                               monkeypatch):
    monkeypatch.setenv("PULSELEDGER_DEVICE_INGEST_DEVICE_READING_BURST", "100")
    result = CliRunner().invoke(main, ["devices", "serve", "--data-dir", str(tmp_path),
                                       "--port", "1"])
    assert result.exit_code == 1
    assert "DEVICE_READING_BURST (100) must be at least the largest batch" in result.output
