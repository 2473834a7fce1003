"""The shipped systemd units (deploy/systemd), rendered for this checkout: systemd's own
verifier accepts each, each ExecStart starts its service far enough to answer --help, and each
ExecStartPre validates the settings the example environment files give (and refuses bad ones
without printing a secret). Real processes, real systemd-analyze; no unit is started (no systemd
runs here as PID 1)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.settings_check import SERVICE_SETTINGS

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from render_units import render_all

INSTANCE = {"pulseledger-gateway@.service": "8600", "pulseledger-peer@.service": "example"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("units")
    render_all(out, prefix=REPO, etc=out / "env", state=out / "state", user="root")
    return out


def _units(rendered: Path) -> list[Path]:
    return sorted((rendered / "systemd").glob("*.service"))


def _directives(unit: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def _specifiers(value: str, unit: Path, rendered: Path) -> str:
    """What systemd puts for the specifiers the units use (%i instance, %d credentials, %S
    state root, %t runtime root), pointed at the test's folders."""
    return (value.replace("%i", INSTANCE.get(unit.name, "x"))
                 .replace("%d", str(rendered / "credentials"))
                 .replace("%S", str(rendered / "state-root"))
                 .replace("%t", str(rendered / "run")))


def _env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; values quoted as a shell would (the units quote JSON in single quotes)."""
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = " ".join(shlex.split(value)) if value else ""
    return env


def _unit_env(unit: Path, rendered: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSELEDGER_")}
    for key, value in _directives(unit):
        value = _specifiers(value, unit, rendered)
        if key == "EnvironmentFile":
            optional, path = value.startswith("-"), Path(value.lstrip("-"))
            if optional and not path.exists():
                path = rendered / "env" / "peer-example.env"  # the instance file shipped as example
            env.update(_env_file(path))
        elif key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
    return env


def _command(unit: Path, rendered: Path, directive: str, env: dict[str, str]) -> list[str]:
    (line,) = [v for k, v in _directives(unit) if k == directive]
    words = shlex.split(_specifiers(line, unit, rendered))
    expanded = []
    for word in words:  # systemd: $VAR splits into words, ${VAR} is one word
        if re.fullmatch(r"\$[A-Z_]+", word):
            expanded += env.get(word[1:], "").split()
        else:
            expanded.append(re.sub(r"\$\{([A-Z_]+)\}", lambda m: env.get(m.group(1), ""), word))
    return expanded


def test_every_service_with_settings_has_a_unit(rendered):
    names = {u.name.removeprefix("pulseledger-").split("@")[0].removesuffix(".service")
             for u in _units(rendered)}
    assert names == set(SERVICE_SETTINGS)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_verifies_every_unit(rendered, tmp_path):
    for unit in _units(rendered):
        target = unit
        if unit.name in INSTANCE:  # a template is verified as one of its instances
            target = tmp_path / unit.name.replace("@.", f"@{INSTANCE[unit.name]}.")
            target.symlink_to(unit)
        result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(target)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{unit.name}: {result.stderr}"
        assert "Failed" not in result.stderr and "Unknown" not in result.stderr, result.stderr


def test_each_command_line_starts_its_service(rendered):
    for unit in _units(rendered):
        env = _unit_env(unit, rendered)
        start = _command(unit, rendered, "ExecStart", env)
        assert Path(start[0]).is_absolute() and Path(start[0]).exists(), start[0]
        helped = subprocess.run(start + ["--help"], env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        assert helped.returncode == 0 and "Usage:" in helped.stdout, (unit.name, helped.stderr)
        checked = subprocess.run(_command(unit, rendered, "ExecStartPre", env), env=env,
                                 capture_output=True, text=True, timeout=120, check=False)
        assert checked.returncode == 0, (unit.name, checked.stderr)
        assert "settings valid" in checked.stdout


def test_bad_settings_stop_the_start_without_printing_secrets(rendered):
    unit = rendered / "systemd" / "pulseledger-proxy.service"
    env = _unit_env(unit, rendered)
    secret = "sk-live-5e3c0ffee"
    env["PULSELEDGER_PROXY_UPSTREAMS"] = f'[{{"url": "ftp://node.example/{secret}"}}]'
    env["PULSELEDGER_PROXY_CHAIN_ID"] = "not-a-number"
    checked = subprocess.run(_command(unit, rendered, "ExecStartPre", env), env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 2
    assert "PULSELEDGER_PROXY_CHAIN_ID" in checked.stderr
    assert secret not in checked.stderr + checked.stdout
