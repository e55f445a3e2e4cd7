"""Tables of configuration kinds: ConfigMaps, Secrets, ServiceAccounts and ResourceQuotas
(kube-apiserver's printers). DATA counts keys (``data`` and ``binaryData`` together for a
ConfigMap); a quota lists "resource: used/hard" pairs, limits apart from requests.
"""

from __future__ import annotations

from datetime import datetime

from pilothouse.api.tables.cells import Obj, quantity, since
from pilothouse.api.tables.printer import AGE, NAME, Cells, Printer, column


def _config_map_cells(config_map: Obj, now: datetime) -> Cells:
    meta = config_map.get("metadata") or {}
    keys = len(config_map.get("data") or ()) + len(config_map.get("binaryData") or ())
    return [meta.get("name", ""), keys, since(meta.get("creationTimestamp"), now)]


def _secret_cells(secret: Obj, now: datetime) -> Cells:
    meta = secret.get("metadata") or {}
    return [
        meta.get("name", ""),
        secret.get("type", ""),
        len(secret.get("data") or ()),
        since(meta.get("creationTimestamp"), now),
    ]


def _service_account_cells(account: Obj, now: datetime) -> Cells:
    meta = account.get("metadata") or {}
    return [
        meta.get("name", ""),
        len(account.get("secrets") or ()),
        since(meta.get("creationTimestamp"), now),
    ]


def _resource_quota_cells(quota: Obj, now: datetime) -> Cells:
    meta = quota.get("metadata") or {}
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        prefix, dot, _ = resource.partition(".")
        column_cells = limits if dot and prefix == "limits" else requests
        column_cells.append(
            f"{resource}: {quantity(used.get(resource))}/{quantity(hard[resource])}"
        )
    return [
        meta.get("name", ""),
        ", ".join(requests),
        ", ".join(limits),
        since(meta.get("creationTimestamp"), now),
    ]


PRINTERS = {
    ("", "ConfigMap"): Printer((NAME, column("Data", "ConfigMap.data"), AGE), _config_map_cells),
    ("", "Secret"): Printer(
        (NAME, column("Type", "Secret.type"), column("Data", "Secret.data"), AGE),
        _secret_cells,
    ),
    ("", "ServiceAccount"): Printer(
        (NAME, column("Secrets", "ServiceAccount.secrets"), AGE), _service_account_cells
    ),
    ("", "ResourceQuota"): Printer(
        (
            NAME,
            column(
                "Request",
                description="Request represents a minimum amount of cpu/memory that a "
                "container may consume.",
            ),
            column(
                "Limit",
                description="Limits control the maximum amount of cpu/memory that a container "
                "may use independent of contention on the node.",
            ),
            AGE,
        ),
        _resource_quota_cells,
    ),
}
