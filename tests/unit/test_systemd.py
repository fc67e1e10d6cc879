"""The systemd units in systemd/: `systemd-analyze verify` passes, and every unit is hardened.

verify checks that ExecStart binaries exist, so the real unit files are installed unchanged
into a temporary root (``--root``) that holds /opt/veloz/venv/bin/veloz and a copy of the
host's own units (sysinit.target and friends, which default dependencies need).
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
UNITS = REPO / "systemd"
SERVICES = ["veloz-feed@.service", "veloz-strategy@.service", "veloz-gateway.service"]
SERVICES += ["veloz-sim.service"]
# What verify is asked about: templates through an instance.
INSTANCES = {
    "veloz-feed@.service": "veloz-feed@binance-spot.BTCUSDT.service",
    "veloz-strategy@.service": "veloz-strategy@main.service",
}
HOST_UNITS = next(
    (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
    None,
)
HARDENING = {
    "User": "veloz",
    "RuntimeDirectory": "veloz",
    "RuntimeDirectoryPreserve": "yes",
    "Restart": "on-failure",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "StandardOutput": "journal",
    "StandardError": "journal",
}
PRESENT = ("RestartSec", "CPUAffinity", "LimitNOFILE")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value given (systemd allows a key more than once)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            out.setdefault(section, {})
            continue
        key, _, value = line.partition("=")
        out[section].setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs the systemd package)")
    if HOST_UNITS is None:
        pytest.skip("no /usr/lib/systemd/system on this host to give the test root")
    root = tmp_path_factory.mktemp("sdroot")
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    etc.mkdir(parents=True)
    for unit in [*SERVICES, "veloz.target"]:
        shutil.copy(UNITS / unit, etc / unit)  # byte for byte: nothing rewritten
    binary = root / "opt/veloz/venv/bin/veloz"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    return root


def verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "notice"}
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", unit],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("unit", [*SERVICES, "veloz.target"])
def test_systemd_analyze_verify_passes_with_no_warnings(root: Path, unit: str) -> None:
    res = verify(root, INSTANCES.get(unit, unit))
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == "", res.stderr  # unknown keys are only warnings: none allowed


def test_systemd_verify_harness_catches_a_broken_unit(root: Path) -> None:
    # The same root with a unit whose key is unknown and whose binary is missing must fail:
    # proves the test above can fail.
    etc = root / "etc/systemd/system"
    text = (UNITS / "veloz-gateway.service").read_text()
    text = text.replace("/opt/veloz/venv/bin/veloz", "/opt/veloz/venv/bin/nonexistent")
    text = text.replace("NoNewPrivileges=yes", "NoNewPrivileges=yes\nNoSuchKey=1")
    (etc / "veloz-broken.service").write_text(text)
    try:
        res = verify(root, "veloz-broken.service")
    finally:
        (etc / "veloz-broken.service").unlink()
    assert res.returncode != 0
    assert "NoSuchKey" in res.stderr and "nonexistent" in res.stderr


@pytest.mark.parametrize("unit", SERVICES)
def test_systemd_service_has_the_hardening_keys(unit: str) -> None:
    service = parse_unit(UNITS / unit)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], f"{unit}: {key}"
    for key in PRESENT:
        assert service.get(key), f"{unit}: {key} missing"
    assert service["ExecStart"][0].startswith("/opt/veloz/venv/bin/veloz ")
    run_dir = "--ready-file /run/veloz/" if unit == "veloz-sim.service" else "--run-dir /run/veloz"
    assert run_dir in service["ExecStart"][0]  # the sim has no run dir, only its ready file


@pytest.mark.parametrize("unit", SERVICES)
def test_systemd_service_is_part_of_and_wanted_by_the_target(unit: str) -> None:
    parsed = parse_unit(UNITS / unit)
    assert parsed["Unit"]["PartOf"] == ["veloz.target"]
    assert parsed["Install"]["WantedBy"] == ["veloz.target"]


def test_systemd_templates_read_their_config_from_etc_veloz_by_instance() -> None:
    feed = parse_unit(UNITS / "veloz-feed@.service")["Service"]["ExecStart"][0]
    strategy = parse_unit(UNITS / "veloz-strategy@.service")["Service"]["ExecStart"][0]
    gateway = parse_unit(UNITS / "veloz-gateway.service")["Service"]
    assert "--config /etc/veloz/feed/%i.toml" in feed
    assert "--config /etc/veloz/strategy/%i.toml" in strategy
    assert "--config /etc/veloz/gateway.toml" in gateway["ExecStart"][0]
    assert gateway["EnvironmentFile"] == ["/etc/veloz/gateway.env"]
    assert "0600" in (UNITS / "veloz-gateway.service").read_text()


def test_systemd_only_the_gateway_gets_the_key_environment_file() -> None:
    for unit in SERVICES:
        has = "EnvironmentFile" in parse_unit(UNITS / unit)["Service"]
        assert has == (unit == "veloz-gateway.service"), unit


def test_systemd_target_wants_the_gateway_and_is_installed_in_multi_user() -> None:
    target = parse_unit(UNITS / "veloz.target")
    assert "veloz-gateway.service" in target["Unit"]["Wants"][0].split()
    assert target["Install"]["WantedBy"] == ["multi-user.target"]
