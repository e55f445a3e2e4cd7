"""Tables of services and what routes to them: Services, Endpoints, EndpointSlices,
Ingresses, IngressClasses and NetworkPolicies (kube-apiserver's printers).

Service EXTERNAL-IP is ``<none>`` for ClusterIP and NodePort services without external IPs,
the load balancer's addresses (or ``<pending>`` until it has some) for LoadBalancer services,
and the external name for ExternalName ones; PORT(S) reads ``80/TCP`` or ``80:30080/TCP``
when a node port is allocated.
"""

from __future__ import annotations

from datetime import datetime

from pilothouse.api.selectors import format_label_selector, format_labels
from pilothouse.api.tables.cells import Obj, list_with_more, load_balancer_addresses, since
from pilothouse.api.tables.printer import AGE, NAME, Cells, Printer, column

# --- Service -------------------------------------------------------------------------------


def _external_ip(spec: Obj, status: Obj) -> str:
    """``getServiceExternalIP`` (wide: load balancer addresses are never shortened)."""
    kind = spec.get("type")
    external_ips = spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if kind == "LoadBalancer":
        balancer = load_balancer_addresses(status.get("loadBalancer"))
        if external_ips:
            return ",".join([*filter(None, balancer.split(",")), *external_ips])
        return balancer or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _ports(ports: list[Obj]) -> str:
    """``makePortString``: port/protocol, with the node port when one is set."""
    pieces = []
    for port in ports:
        protocol = port.get("protocol", "")
        if port.get("nodePort"):
            pieces.append(f"{port.get('port', 0)}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port', 0)}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cells(service: Obj, now: datetime) -> Cells:
    meta = service.get("metadata") or {}
    spec, status = service.get("spec") or {}, service.get("status") or {}
    cluster_ips = spec.get("clusterIPs") or ()
    # Objects that predate clusterIPs carry clusterIP only; conversion fills one from the other.
    cluster_ip = cluster_ips[0] if cluster_ips else spec.get("clusterIP")
    return [
        meta.get("name", ""),
        spec.get("type", ""),
        cluster_ip or "<none>",
        _external_ip(spec, status),
        _ports(spec.get("ports") or []),
        since(meta.get("creationTimestamp"), now),
        format_labels(spec.get("selector")),
    ]


# --- Endpoints, EndpointSlice --------------------------------------------------------------


def _host_port(ip: str, port: int) -> str:
    """net.JoinHostPort: IPv6 addresses are bracketed."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _endpoints(subsets: list[Obj]) -> str:
    """``formatEndpoints``: the first three ip:port pairs, then "+ N more..."."""
    if not subsets:
        return "<none>"
    shown: list[str] = []
    total = 0
    for subset in subsets:
        ips = [a.get("ip", "") for a in subset.get("addresses") or ()]
        ports = subset.get("ports") or ()
        if not ports:
            # A headless service may have no ports: show bare addresses.
            total += len(ips)
            shown.extend(ips[: 3 - len(shown)])
            continue
        for port in ports:
            total += len(ips)
            shown.extend(_host_port(ip, port.get("port", 0)) for ip in ips[: 3 - len(shown)])
    text = ",".join(shown)
    return f"{text} + {total - 3} more..." if total > 3 else text


def _endpoints_cells(endpoints: Obj, now: datetime) -> Cells:
    meta = endpoints.get("metadata") or {}
    return [
        meta.get("name", ""),
        _endpoints(endpoints.get("subsets") or []),
        since(meta.get("creationTimestamp"), now),
    ]


def _slice_ports(ports: list[Obj]) -> str:
    """``formatDiscoveryPorts``: port numbers, else names, else "*"."""
    shown: list[str] = []
    for port in ports[:3]:
        number, name = port.get("port"), port.get("name")
        shown.append(str(number) if number is not None else "*" if name is None else name)
    return list_with_more(shown, len(ports))


def _slice_endpoints(endpoints: list[Obj]) -> str:
    """``formatDiscoveryEndpoints``: the first three addresses of all endpoints."""
    addresses = [a for endpoint in endpoints for a in endpoint.get("addresses") or ()]
    return list_with_more(addresses, len(addresses))


def _endpoint_slice_cells(endpoint_slice: Obj, now: datetime) -> Cells:
    meta = endpoint_slice.get("metadata") or {}
    return [
        meta.get("name", ""),
        endpoint_slice.get("addressType", ""),
        _slice_ports(endpoint_slice.get("ports") or []),
        _slice_endpoints(endpoint_slice.get("endpoints") or []),
        since(meta.get("creationTimestamp"), now),
    ]


# --- Ingress, IngressClass, NetworkPolicy --------------------------------------------------


def _hosts(rules: list[Obj]) -> str:
    """``formatHosts``: up to three hosts, "*" when no rule names one."""
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    text = ",".join(hosts)
    # Upstream counts rules, not hosts, in "+ N more...".
    return f"{text} + {len(rules) - 3} more..." if more else text


def _ingress_cells(ingress: Obj, now: datetime) -> Cells:
    meta = ingress.get("metadata") or {}
    spec, status = ingress.get("spec") or {}, ingress.get("status") or {}
    class_name = spec.get("ingressClassName")
    return [
        meta.get("name", ""),
        "<none>" if class_name is None else class_name,
        _hosts(spec.get("rules") or []),
        load_balancer_addresses(status.get("loadBalancer")),
        "80, 443" if spec.get("tls") else "80",
        since(meta.get("creationTimestamp"), now),
    ]


def _ingress_class_cells(ingress_class: Obj, now: datetime) -> Cells:
    meta = ingress_class.get("metadata") or {}
    spec = ingress_class.get("spec") or {}
    parameters = "<none>"
    reference = spec.get("parameters")
    if reference is not None:
        parameters = reference.get("kind", "")
        if reference.get("apiGroup") is not None:
            parameters += "." + reference["apiGroup"]
        parameters += "/" + reference.get("name", "")
    return [
        meta.get("name", ""),
        spec.get("controller", ""),
        parameters,
        since(meta.get("creationTimestamp"), now),
    ]


def _network_policy_cells(policy: Obj, now: datetime) -> Cells:
    meta = policy.get("metadata") or {}
    # podSelector is a struct upstream, never nil: absent means {} (all pods).
    selector = (policy.get("spec") or {}).get("podSelector") or {}
    return [
        meta.get("name", ""),
        format_label_selector(selector),
        since(meta.get("creationTimestamp"), now),
    ]


PRINTERS = {
    ("", "Service"): Printer(
        (
            NAME,
            column("Type", "ServiceSpec.type"),
            column("Cluster-IP", "ServiceSpec.clusterIP"),
            column("External-IP", "ServiceSpec.externalIPs"),
            column("Port(s)", "ServiceSpec.ports"),
            AGE,
            column("Selector", "ServiceSpec.selector", wide=True),
        ),
        _service_cells,
    ),
    ("", "Endpoints"): Printer(
        (NAME, column("Endpoints", "Endpoints.subsets"), AGE), _endpoints_cells
    ),
    ("discovery.k8s.io", "EndpointSlice"): Printer(
        (
            NAME,
            column("AddressType", "EndpointSlice.addressType"),
            column("Ports", "EndpointSlice.ports"),
            column("Endpoints", "EndpointSlice.endpoints"),
            AGE,
        ),
        _endpoint_slice_cells,
    ),
    ("networking.k8s.io", "Ingress"): Printer(
        (
            NAME,
            column(
                "Class",
                description="The name of the IngressClass resource that should be used for "
                "additional configuration",
            ),
            column(
                "Hosts",
                description="Hosts that incoming requests are matched against before the "
                "ingress rule",
            ),
            column(
                "Address",
                description="Address is a list containing ingress points for the load-balancer",
            ),
            column("Ports", description="Ports of TLS configurations that open"),
            AGE,
        ),
        _ingress_cells,
    ),
    ("networking.k8s.io", "IngressClass"): Printer(
        (
            NAME,
            column(
                "Controller", description="Controller that is responsible for handling this class"
            ),
            column(
                "Parameters", description="A reference to a resource with additional parameters"
            ),
            AGE,
        ),
        _ingress_class_cells,
    ),
    ("networking.k8s.io", "NetworkPolicy"): Printer(
        (NAME, column("Pod-Selector", "NetworkPolicySpec.podSelector"), AGE),
        _network_policy_cells,
    ),
}
