"""A bad configuration stops `pulseledger proxy` and `proxy-ws` with exit code 2 and one line per
problem naming the setting, never a traceback and never the value: every case below carries a
secret-looking string where a value would be echoed."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from services.sigv4proxy.cli import proxy, proxy_ws

from .processes import REPO

SECRET = "sk_live_DO_NOT_PRINT_4f3c2b1a0987"
GOOD_UPSTREAM = {"url": "http://127.0.0.1:9/", "name": "node"}


def _upstreams(*entries) -> str:
    return json.dumps(list(entries))


def _bad_url(url: str) -> tuple[dict, str]:
    return {"UPSTREAMS": _upstreams({"url": url})}, "upstreams[0]"


BAD = {
    "upstreams-not-json": ({"UPSTREAMS": f"not json {SECRET}"}, "PULSELEDGER_PROXY_UPSTREAMS"),
    "upstreams-not-a-list": ({"UPSTREAMS": json.dumps({"url": SECRET})}, "UPSTREAMS"),
    "upstreams-empty": ({"UPSTREAMS": "[]"}, "UPSTREAMS"),
    "upstreams-null": ({"UPSTREAMS": "null"}, "PULSELEDGER_PROXY_UPSTREAMS: null"),
    "url-not-a-url": ({"UPSTREAMS": _upstreams({"url": SECRET})}, "UPSTREAMS"),
    "upstreams-nested-too-deep": (
        {"UPSTREAMS": "[" * 5000 + json.dumps(SECRET) + "]" * 5000},
        "PULSELEDGER_PROXY_UPSTREAMS",
    ),
    # urlsplit drops line breaks and tabs silently: another URL than the one configured.
    "url-line-break": _bad_url(f"http://127.0.0.1:9/\n{SECRET}"),
    "url-tab": _bad_url(f"http://127.0.0.1:9/\t{SECRET}"),
    "url-space": _bad_url(f"http://node.example/ {SECRET}"),
    "url-scheme": _bad_url(f"ftp://node.example/{SECRET}"),
    "url-port": _bad_url(f"http://node.example:99999/{SECRET}"),
    "url-userinfo": _bad_url(f"https://user:{SECRET}@node.example/"),
    "auth-unknown": (
        {"UPSTREAMS": _upstreams({"url": f"https://node.example/v3/{SECRET}", "auth": "bogus"})},
        "UPSTREAMS[0].auth",
    ),
    "header-auth-without-headers": (
        {"UPSTREAMS": _upstreams({"url": f"https://node.example/{SECRET}", "auth": "header"})},
        "UPSTREAMS[0]",
    ),
    "headers-without-header-auth": (
        {"UPSTREAMS": _upstreams({**GOOD_UPSTREAM, "headers": {"x-api-key": SECRET}})},
        "UPSTREAMS[0]",
    ),
    "header-value-line-break": (
        {
            "UPSTREAMS": _upstreams(
                {**GOOD_UPSTREAM, "auth": "header", "headers": {"x-api-key": f"{SECRET}\r\nX: 1"}}
            )
        },
        "UPSTREAMS[0].headers",
    ),
    "header-value-not-a-string": (
        {"UPSTREAMS": _upstreams({**GOOD_UPSTREAM, "auth": "header", "headers": {SECRET: 1}})},
        "UPSTREAMS[0].headers",
    ),
    "misspelt-key": (
        {"UPSTREAMS": _upstreams({**GOOD_UPSTREAM, "heders": {"x-api-key": SECRET}})},
        "UPSTREAMS[0]",
    ),
    "duplicate-names": ({"UPSTREAMS": _upstreams(GOOD_UPSTREAM, GOOD_UPSTREAM)}, "names"),
    "unknown-method": (
        {"ALLOWED_METHODS": json.dumps(["eth_chainId", "debug_x"])},
        "ALLOWED_METHODS",
    ),
    # Node-side filters keep state on one node (lost on failover) and take filters the proxy
    # does not bound: no parameter check exists for them, so they cannot be allow-listed.
    **{
        f"filter-method-{method}": ({"ALLOWED_METHODS": json.dumps([method])}, "ALLOWED_METHODS")
        for method in (
            "eth_newFilter",
            "eth_getFilterLogs",
            "eth_getFilterChanges",
            "eth_newBlockFilter",
            "eth_uninstallFilter",
        )
    },
    "ws-filter-method": (
        {"WS_ALLOWED_METHODS": json.dumps(["eth_subscribe", "eth_newFilter"])},
        "WS_ALLOWED_METHODS",
    ),
    "contract-not-an-address": ({"ALLOWED_CONTRACTS": json.dumps([SECRET])}, "ALLOWED_CONTRACTS"),
    "negative-timeout": ({"UPSTREAM_TIMEOUT_SECONDS": "-1"}, "UPSTREAM_TIMEOUT_SECONDS"),
    "workers-zero": ({"WORKERS": "0"}, "WORKERS"),
    "origin-with-path": (
        {"CORS_ORIGINS": json.dumps([f"https://dapp.example/{SECRET}"])},
        "CORS_ORIGINS",
    ),
    "chain-id-not-a-number": ({"CHAIN_ID": SECRET}, "CHAIN_ID"),
    "ws-upstream-http": (
        {"WS_UPSTREAMS": _upstreams({"url": f"http://node.example/{SECRET}"})},
        "ws_upstreams[0]",
    ),
}


@pytest.fixture
def env(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("PULSELEDGER_PROXY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PULSELEDGER_PROXY_CHAIN_ID", "31337")

    def setenv(values: dict[str, str]) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"PULSELEDGER_PROXY_{key}", value)

    return setenv


@pytest.mark.parametrize("command", [proxy, proxy_ws], ids=["proxy", "proxy-ws"])
@pytest.mark.parametrize(("values", "named"), BAD.values(), ids=BAD)
def test_bad_setting__exit_2__named__value_never_printed(env, command, values, named):
    env(values)
    result = CliRunner().invoke(command, ["--bind", "127.0.0.1:0"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert named.lower() in result.output.lower()
    assert SECRET not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "bind", ["fd://abc", "fd://987654", "no-port", "127.0.0.1:http", "127.0.0.1:70000", ":8547"]
)
def test_bad_bind__exit_2(env, bind):
    result = CliRunner().invoke(proxy, ["--bind", bind])
    assert result.exit_code == 2
    assert "--bind" in result.output


def test_ws_without_upstreams__exit_2(env):
    result = CliRunner().invoke(proxy_ws, ["--bind", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert "PULSELEDGER_PROXY_WS_UPSTREAMS" in result.output


def _run_with_upstreams(args: list[str], upstreams: str) -> subprocess.CompletedProcess:
    """Python with `args` in a clean environment whose only upstreams setting is `upstreams`."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PULSELEDGER_PROXY_CHAIN_ID": "31337",
        "PULSELEDGER_PROXY_UPSTREAMS": upstreams,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )


def test_bad_setting__real_process__exit_2_one_line_no_traceback():
    """The same through `python -m services.sigv4proxy`, as operators start it."""
    result = _run_with_upstreams(
        ["-m", "services.sigv4proxy", "--bind", "127.0.0.1:0"],
        f"[{{'url': '{SECRET}'}}]",  # Python, not JSON
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pulseledger proxy: PULSELEDGER_PROXY_UPSTREAMS: not valid JSON for this setting"
    ]
    assert SECRET not in result.stdout + result.stderr


def test_readme_style_settings__accepted(env):
    """What docs/sigv4proxy.md shows must pass the checks."""
    env(
        {
            "UPSTREAMS": _upstreams(
                {
                    "url": "https://nd-XXXX.ethereum.managedblockchain.us-east-1.amazonaws.com/",
                    "name": "amb",
                    "auth": "sigv4",
                    "aws_region": "us-east-1",
                },
                {
                    "url": "https://mainnet.your-provider.example",
                    "name": "backup",
                    "auth": "header",
                    "headers": {"Authorization": "Bearer abc"},
                },
            ),
            "WS_UPSTREAMS": _upstreams({"url": "wss://ws.provider.example/v3/KEY"}),
        }
    )
    from services.sigv4proxy.cli import load_settings

    settings = load_settings()
    assert settings.upstream_names() == ["amb", "backup"]


@pytest.mark.parametrize(
    ("upstreams", "line"),
    [
        (
            f"[{{'url': '{SECRET}'}}]",
            "PULSELEDGER_PROXY_UPSTREAMS: not valid JSON for this setting",
        ),
        ("[" * 5000 + "]" * 5000, "PULSELEDGER_PROXY_*: a JSON setting is nested too deeply"),
    ],
    ids=["python-not-json", "nested-too-deep"],
)
def test_check_settings_proxy__undecodable_json__exit_2_no_traceback(upstreams, line):
    """`pulseledger check-settings proxy` runs before the unit starts (deploy/systemd): the same
    bad setting stops it the same clean way."""
    code = "from services.settings_check import check_settings; check_settings(['proxy'])"
    result = _run_with_upstreams(["-c", code], upstreams)
    assert result.returncode == 2, result.stderr[-2000:]
    assert line in result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
