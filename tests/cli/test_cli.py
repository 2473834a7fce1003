from click.testing import CliRunner

from services.cli import main


def test_cli__help__lists_the_command_group():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "PulseLedger" in result.output
