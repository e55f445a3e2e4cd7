"""The agent's command-line options: labels, taints, token TTLs, and the node's layout."""

from __future__ import annotations

import datetime
from pathlib import Path

import click
import pytest

from pilothouse.cli.agent import kubelet_config, parse_label, parse_taint
from pilothouse.cli.token import parse_duration


def test_labels() -> None:
    assert parse_label("topology.kubernetes.io/zone=a") == ("topology.kubernetes.io/zone", "a")
    assert parse_label("empty=") == ("empty", "")
    for bad in ("novalue", "=v", "k=bad value", "-k=v"):
        with pytest.raises(ValueError, match="invalid node label"):
            parse_label(bad)


def test_taints() -> None:
    assert parse_taint("dedicated=db:NoSchedule") == {
        "key": "dedicated", "value": "db", "effect": "NoSchedule"}
    assert parse_taint("example.com/gpu:NoExecute") == {
        "key": "example.com/gpu", "effect": "NoExecute"}
    for bad in ("dedicated=db", "k=v:Sometimes", ":NoSchedule", "k=bad value:NoSchedule"):
        with pytest.raises(ValueError, match="invalid node taint"):
            parse_taint(bad)


def test_durations_as_go_parses_them() -> None:
    assert parse_duration("24h") == datetime.timedelta(hours=24)
    assert parse_duration("1h30m") == datetime.timedelta(minutes=90)
    assert parse_duration("90s") == datetime.timedelta(seconds=90)
    assert parse_duration("1.5h") == datetime.timedelta(minutes=90)
    assert parse_duration("0") is None
    for bad in ("", "24", "1d", "h", "1h 30m", "-1h"):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(bad)


def node_options(**changes: object) -> dict:
    options = dict(node_name="node-9", node_ip="", node_label=("a=b",),
                   node_taint=("k=v:NoSchedule",), kubelet_port=10250, pod_bridge="ph0",
                   block_pod_egress=False)
    options.update(changes)
    return options


def test_the_node_lives_under_data_dir_agent(tmp_path: Path) -> None:
    config = kubelet_config(tmp_path, **node_options())
    assert config.data_dir == tmp_path / "agent"
    assert config.manifests_dir == tmp_path / "manifests"
    assert config.registries_file == tmp_path / "registries.yaml"
    assert config.node_labels == {"a": "b"}
    assert config.node_taints == [{"key": "k", "value": "v", "effect": "NoSchedule"}]
    assert config.pods_cgroup_parent == "/pilothouse-nodes/node-9"
    assert not config.control_plane


def test_bad_node_names_and_labels_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(click.BadParameter):
        kubelet_config(tmp_path, **node_options(node_name="Not_A_Name"))
    with pytest.raises(click.ClickException, match="invalid node label"):
        kubelet_config(tmp_path, **node_options(node_label=("bad",)))
