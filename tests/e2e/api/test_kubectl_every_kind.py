"""Every built-in kind through real kubectl (the oldest and newest on the machine): create,
apply, get in every output format, describe, edit, patch, label, annotate, scale, replace
and delete."""

from __future__ import annotations

import json

import pytest
import yaml
from cluster import ServerProcess
from manifests import SCALABLE, manifests

from pilothouse.api.resources import Registry

KINDS = sorted(manifests("x"))

pytestmark = pytest.mark.slow  # the long scenarios: not in the quick tier


def test_every_builtin_kind_has_a_manifest() -> None:
    served = {
        r.plural + (f".{r.group}" if r.group else "")
        for r in Registry.builtin() if r.preferred and "get" in r.verbs  # not the reviews
    }
    assert served == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_kind_lifecycle(server: ServerProcess, kubectl_version: str, kind: str) -> None:
    name = f"e2e-{kubectl_version.replace('.', '')}-{KINDS.index(kind)}"
    manifest = manifests(name)[kind]

    def kubectl(*args: str, **kw):  # type: ignore[no-untyped-def]
        return server.kubectl(*args, version=kubectl_version, **kw)

    created = kubectl("create", "-f", "-", input=yaml.safe_dump(manifest))
    assert name in created.stdout and "created" in created.stdout

    # get in the formats users reach for
    table = kubectl("get", kind, name).stdout
    shown = "hello" if kind.startswith("events") else name  # event tables show no names
    assert table.splitlines()[0].startswith(("NAME", "LAST SEEN")) and shown in table
    assert shown in kubectl("get", kind, name, "-o", "wide").stdout
    as_json = json.loads(kubectl("get", kind, name, "-o", "json").stdout)
    assert as_json["metadata"]["name"] == name and as_json["metadata"]["uid"]
    assert yaml.safe_load(kubectl("get", kind, name, "-o", "yaml").stdout)["kind"] == (
        manifest["kind"])
    assert kubectl("get", kind, name, "-o", "jsonpath={.metadata.name}").stdout == name
    assert name in kubectl("describe", kind, name).stdout

    kubectl("label", kind, name, "e2e=yes")
    kubectl("annotate", kind, name, "e2e/note=hello")
    labelled = kubectl("get", kind, "-l", "e2e=yes", "-o", "name").stdout
    assert name in labelled

    patched = json.loads(kubectl(
        "patch", kind, name, "--type=merge", "-p", '{"metadata":{"labels":{"patched":"true"}}}',
        "-o", "json").stdout)
    assert patched["metadata"]["labels"]["patched"] == "true"

    if kind in SCALABLE:
        kubectl("scale", kind, name, "--replicas=3")
        assert kubectl("get", kind, name, "-o", "jsonpath={.spec.replicas}").stdout == "3"

    # edit with a scripted editor, replace with what we read back, and apply
    kubectl("edit", kind, name,
            env={"KUBE_EDITOR": "sed -i 's/e2e\\/note: hello/e2e\\/note: edited/'"})
    current = json.loads(kubectl("get", kind, name, "-o", "json").stdout)
    assert current["metadata"]["annotations"]["e2e/note"] == "edited"
    current["metadata"]["labels"]["replaced"] = "yes"
    kubectl("replace", "-f", "-", input=json.dumps(current))
    assert json.loads(kubectl("get", kind, name, "-o", "json").stdout)["metadata"]["labels"][
        "replaced"] == "yes"
    applied = dict(manifest, metadata=dict(manifest["metadata"], labels={"applied": "yes"}))
    assert "configured" in kubectl("apply", "-f", "-", input=yaml.safe_dump(applied)).stdout

    deleted = kubectl("delete", kind, name, "--wait=true", "--timeout=30s")
    assert "deleted" in deleted.stdout
    gone = kubectl("get", kind, name, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
