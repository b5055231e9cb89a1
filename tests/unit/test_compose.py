"""compose.yaml cannot run on machines without a Docker engine; these tests hold it to the same
contract as the lab: the seed's ports, healthchecks, and every file it mounts or copies exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stasis_app.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _ports(service: dict[str, Any]) -> set[str]:
    # "127.0.0.1:3000:3000" and "3000:3000" both publish container port 3000.
    out = set()
    for spec in service.get("ports", []):
        container = str(spec).rsplit(":", 1)[-1]
        out.add(container if "/" in container else f"{container}/tcp")
    return out


def test_services_and_profiles(compose: dict[str, Any]) -> None:
    """Asterisk and the worker run by default; Elasticsearch and Kibana under `elastic`."""
    services = compose["services"]
    assert set(services) == {"asterisk", "worker", "es-setup", "elasticsearch", "kibana"}
    assert "profiles" not in services["asterisk"]
    assert "profiles" not in services["worker"]
    assert services["elasticsearch"]["profiles"] == ["elastic"]
    assert services["es-setup"]["profiles"] == ["elastic"]
    assert services["kibana"]["profiles"] == ["elastic"]


def test_seed_ports_are_published(compose: dict[str, Any]) -> None:
    """The seed's ports: 3000 (API), 5060 UDP+TCP (SIP), 10000-20000/udp (RTP)."""
    ports = _ports(compose["services"]["asterisk"])
    assert {"3000/tcp", "5060/udp", "5060/tcp", "10000-20000/udp"} <= ports


def test_rtp_range_matches_rtp_conf(compose: dict[str, Any]) -> None:
    """The published RTP range is the one Asterisk is configured to use."""
    conf = (REPO_ROOT / "asterisk/etc/rtp.conf").read_text()
    start = next(ln.split("=")[1].strip() for ln in conf.splitlines() if ln.startswith("rtpstart"))
    end = next(ln.split("=")[1].strip() for ln in conf.splitlines() if ln.startswith("rtpend"))
    assert f"{start}-{end}/udp" in _ports(compose["services"]["asterisk"])


def test_worker_shares_asterisk_network(compose: dict[str, Any]) -> None:
    """ARI stays on loopback (http.conf) because the worker lives in Asterisk's network."""
    assert compose["services"]["worker"]["network_mode"] == "service:asterisk"
    assert "bindaddr = 127.0.0.1" in (REPO_ROOT / "asterisk/etc/http.conf").read_text()


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    """Each long-running service says how to tell it is healthy (es-setup runs once)."""
    for name, service in compose["services"].items():
        if name != "es-setup":
            assert "test" in service.get("healthcheck", {}), name


def test_secrets_are_required_not_defaulted(compose: dict[str, Any]) -> None:
    """The ARI password and API token must come from the environment (`:?` makes compose fail)."""
    env = compose["services"]["worker"]["environment"]
    assert ":?" in env["CTI_ARI_PASSWORD"]
    assert ":?" in env["CTI_API_TOKEN"]


def test_every_mounted_file_exists(compose: dict[str, Any]) -> None:
    """Bind mounts point at files and folders that are in the repository."""
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name}: {source}"


def test_every_build_input_exists(compose: dict[str, Any]) -> None:
    """Each Dockerfile exists and every path it COPYs from the build context is present."""
    for name, service in compose["services"].items():
        build = service.get("build")
        if not build:
            continue
        dockerfile = REPO_ROOT / build["context"] / build["dockerfile"]
        assert dockerfile.is_file(), name
        for line in dockerfile.read_text().splitlines():
            words = line.split()
            if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
                for src in words[1:-1]:
                    assert Path(REPO_ROOT / src).exists(), f"{dockerfile.name}: COPY {src}"
