"""The screen's compiled passes load on a read-only install (services/predict/compiled.py).

Each case runs a small module using `compiled` in a mount namespace of its own (`unshare -m`,
we are root) where the module's directory and HOME are read-only bind mounts, as under a
hardened systemd unit: numba then has nowhere to cache by default and would refuse to load the
module at all.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULE = textwrap.dedent("""
    from services.predict.compiled import compiled

    @compiled
    def add_one(x):
        return x + 1
""")


def _run_read_only(tmp_path: Path, extra_env: str = "") -> subprocess.CompletedProcess:
    package, home = tmp_path / "package", tmp_path / "home"
    package.mkdir()
    home.mkdir()
    (package / "passes.py").write_text(MODULE)
    script = f"""
        set -e
        for d in {package} {home}; do mount --bind "$d" "$d"; mount -o remount,bind,ro "$d"; done
        cd {package}
        env -u NUMBA_CACHE_DIR HOME={home} XDG_CACHE_HOME={home}/.cache {extra_env} \\
            PYTHONPATH={REPO} {sys.executable} -c '
import logging; logging.basicConfig()
import passes; print(passes.add_one(41))'
    """
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def test_read_only_install__compiles_without_cache_and_says_so(tmp_path):
    result = _run_read_only(tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "42"
    assert "cannot be cached" in result.stderr and "NUMBA_CACHE_DIR" in result.stderr


def test_read_only_install__numba_cache_dir__cached_there_silently(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    result = _run_read_only(tmp_path, f"NUMBA_CACHE_DIR={cache}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "42"
    assert "cannot be cached" not in result.stderr
    assert list(cache.rglob("*.nbi")), "nothing was cached in NUMBA_CACHE_DIR"
