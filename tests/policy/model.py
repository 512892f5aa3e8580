#!/usr/bin/env python3
"""What Kubernetes NetworkPolicy (networking.k8s.io/v1) allows: a reachability model.

Given a cluster (namespaces, nodes, pods) and NetworkPolicy objects, the model predicts for each
probe (source, destination, port, protocol, IP family) whether the connection is allowed. It is
written from the Kubernetes API documentation, independently of any enforcement in weft, so that
tests can compare what a datapath does with what the API says. tests/policy/README.md gives the
reading of each rule, the points where implementations differ, and the file formats.

Command line:
  model.py expect [--cluster FILE] [--policies FILE] [--ports 80/TCP,...] [--family 4|6|4,6]
                  [--nodes] [--out FILE]
  model.py case CASE.json [--cluster FILE] [--step N] [--out FILE]
  model.py diff EXPECTED.json OBSERVED.json

Standard library only.
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import ipaddress
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Optional, Union

HERE = Path(__file__).resolve().parent
DEFAULT_CLUSTER = HERE / "cluster.json"
PROTOCOLS = ("TCP", "UDP", "SCTP")
INGRESS, EGRESS = "Ingress", "Egress"
DEFAULT_PORTS = ("80/TCP", "81/TCP", "80/UDP", "81/UDP", "80/SCTP")
METADATA_NAME = "kubernetes.io/metadata.name"
NODE_PREFIX = "node:"
MATRIX_FORMAT = "weft-policy-matrix/1"

Labels = dict[str, str]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class ModelError(ValueError):
    """An invalid cluster, policy, probe or case file (the message says where)."""


# ---------------------------------------------------------------------------------------------
# The cluster: namespaces, nodes, pods, and the endpoints a probe connects.


@dataclass(frozen=True)
class ContainerPort:
    """One entry of a container's `ports`: a (possibly named) port number and protocol."""

    name: Optional[str]
    number: int
    protocol: str


@dataclass
class Namespace:
    name: str
    labels: Labels


@dataclass
class Node:
    name: str
    ips: list[str]


@dataclass
class Pod:
    namespace: str
    name: str
    labels: Labels
    ips: list[str]
    node: str
    host_network: bool = False
    ports: list[ContainerPort] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class Endpoint:
    """One end of a probe: a pod ("ns/name"), or a node itself ("node:NAME", pod None)."""

    key: str
    node: str
    ips: list[str]
    pod: Optional[Pod] = None

    @property
    def in_pod_network(self) -> bool:
        """True for a pod that has its own network namespace: the only thing policies select."""
        return self.pod is not None and not self.pod.host_network

    def ip(self, family: int) -> Optional[IPAddress]:
        """The endpoint's first address of this IP family (4 or 6), None when it has none."""
        for text in self.ips:
            address = ipaddress.ip_address(text)
            if address.version == family:
                return address
        return None


@dataclass
class Cluster:
    namespaces: dict[str, Namespace]
    nodes: dict[str, Node]
    pods: dict[str, Pod]

    @classmethod
    def from_json(cls, obj: dict) -> "Cluster":
        """Builds a cluster from the cluster.json format (README.md)."""
        cluster = cls({}, {}, {})
        for item in obj.get("nodes", []):
            cluster.nodes[item["name"]] = Node(item["name"], list(item.get("ips", [])))
        for item in obj.get("namespaces", []):
            cluster.add_namespace(item)
        for item in obj.get("pods", []):
            cluster.add_pod(item)
        return cluster

    def add_namespace(self, item: dict) -> None:
        """Adds a namespace; Kubernetes' kubernetes.io/metadata.name label is set if missing."""
        name = item["name"]
        labels = dict(item.get("labels", {}))
        labels.setdefault(METADATA_NAME, name)
        self.namespaces[name] = Namespace(name, labels)

    def add_pod(self, item: dict) -> None:
        """Adds a pod from its cluster.json form; a hostNetwork pod takes its node's IPs."""
        where = f"pod {item.get('namespace')}/{item.get('name')}"
        if item.get("namespace") not in self.namespaces:
            raise ModelError(f"{where}: unknown namespace")
        if item.get("node") not in self.nodes:
            raise ModelError(f"{where}: unknown node {item.get('node')!r}")
        host_network = bool(item.get("hostNetwork", False))
        node_ips = self.nodes[item["node"]].ips
        ips = list(item.get("ips", node_ips if host_network else []))
        if host_network and sorted(ips) != sorted(node_ips):
            raise ModelError(f"{where}: a hostNetwork pod has its node's IPs")
        ports = [parse_container_port(p, where) for p in item.get("ports", [])]
        pod = Pod(item["namespace"], item["name"], dict(item.get("labels", {})), ips,
                  item["node"], host_network, ports)
        self.pods[pod.key] = pod

    def copy(self) -> "Cluster":
        return copy.deepcopy(self)

    def endpoint(self, key: str) -> Endpoint:
        """The pod "ns/name" or the node "node:NAME"."""
        if key.startswith(NODE_PREFIX):
            node = self.nodes.get(key[len(NODE_PREFIX):])
            if node is None:
                raise ModelError(f"unknown node {key!r}")
            return Endpoint(key, node.name, node.ips)
        pod = self.pods.get(key)
        if pod is None:
            raise ModelError(f"unknown pod {key!r}")
        return Endpoint(key, pod.node, pod.ips, pod)

    def endpoint_keys(self, nodes: bool = False) -> list[str]:
        """Every pod key in cluster order, then every node key when asked."""
        keys = list(self.pods)
        if nodes:
            keys += [NODE_PREFIX + name for name in self.nodes]
        return keys


def parse_container_port(obj: dict, where: str) -> ContainerPort:
    protocol = obj.get("protocol", "TCP")
    if protocol not in PROTOCOLS:
        raise ModelError(f"{where}: container port protocol {protocol!r}")
    return ContainerPort(obj.get("name"), int(obj["containerPort"]), protocol)


def load_cluster(path: Union[str, Path] = DEFAULT_CLUSTER) -> Cluster:
    with open(path, encoding="utf-8") as f:
        return Cluster.from_json(json.load(f))


# ---------------------------------------------------------------------------------------------
# Label selectors (metav1.LabelSelector).

SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Requirement:
    """One requirement of a selector; matchLabels k: v is the requirement k In [v]."""

    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Labels) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present  # DoesNotExist


@dataclass(frozen=True)
class Selector:
    """A label selector: every requirement must hold; no requirement ({}) selects everything."""

    requirements: tuple[Requirement, ...]

    def matches(self, labels: Labels) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def parse_selector(obj: Any, where: str) -> Selector:
    """Parses and validates matchLabels and matchExpressions."""
    if not isinstance(obj, dict):
        raise ModelError(f"{where}: a label selector is an object")
    unknown = set(obj) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise ModelError(f"{where}: unknown selector fields {sorted(unknown)}")
    reqs = [Requirement(k, "In", frozenset([str(v)]))
            for k, v in (obj.get("matchLabels") or {}).items()]
    for i, expr in enumerate(obj.get("matchExpressions") or []):
        reqs.append(parse_expression(expr, f"{where}.matchExpressions[{i}]"))
    return Selector(tuple(reqs))


def parse_expression(expr: dict, where: str) -> Requirement:
    operator, values = expr.get("operator"), expr.get("values") or []
    if operator not in SELECTOR_OPERATORS:
        raise ModelError(f"{where}: operator {operator!r} (one of {SELECTOR_OPERATORS})")
    if not expr.get("key"):
        raise ModelError(f"{where}: a key is required")
    if operator in ("In", "NotIn") and not values:
        raise ModelError(f"{where}: {operator} needs values")
    if operator in ("Exists", "DoesNotExist") and values:
        raise ModelError(f"{where}: {operator} takes no values")
    return Requirement(expr["key"], operator, frozenset(str(v) for v in values))


# ---------------------------------------------------------------------------------------------
# NetworkPolicy objects, parsed and validated.


@dataclass(frozen=True)
class IPBlock:
    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...]

    def contains(self, address: IPAddress) -> bool:
        """In cidr and in no except; an address of the other family never matches."""
        if address.version != self.cidr.version or address not in self.cidr:
            return False
        return not any(address in e for e in self.excepts)


@dataclass(frozen=True)
class Peer:
    """One entry of from/to: selectors (None = absent) or an ipBlock."""

    pod_selector: Optional[Selector]
    namespace_selector: Optional[Selector]
    ip_block: Optional[IPBlock]


@dataclass(frozen=True)
class PortSpec:
    """One entry of a rule's ports; port None = every port of the protocol."""

    protocol: str
    port: Union[int, str, None]
    end_port: Optional[int]


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule; None for peers or ports means "every"."""

    peers: Optional[tuple[Peer, ...]]
    ports: Optional[tuple[PortSpec, ...]]


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    pod_selector: Selector
    types: frozenset[str]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]

    def rules(self, direction: str) -> tuple[Rule, ...]:
        return self.ingress if direction == INGRESS else self.egress


def policy_types(spec: dict, where: str = "spec") -> frozenset[str]:
    """spec.policyTypes, or its default when it is omitted (or empty).

    The default is Ingress, plus Egress when the policy has egress rules. An empty `egress: []`
    counts as none: the API server defaults on the list's length and drops empty lists when it
    stores the object, so such a policy reads back without an egress section.
    """
    given = spec.get("policyTypes") or []
    for t in given:
        if t not in (INGRESS, EGRESS):
            raise ModelError(f"{where}.policyTypes: {t!r} is neither Ingress nor Egress")
    if given:
        return frozenset(given)
    return frozenset([INGRESS, EGRESS] if spec.get("egress") else [INGRESS])


def parse_policy(obj: dict) -> Policy:
    """Parses and validates one NetworkPolicy object (JSON as the API serves it)."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace"), meta.get("name")
    if not namespace or not name:
        raise ModelError(f"NetworkPolicy {meta!r}: metadata.namespace and .name are required")
    where = f"NetworkPolicy {namespace}/{name}: spec"
    spec = obj.get("spec") or {}
    return Policy(
        namespace,
        name,
        parse_selector(spec.get("podSelector") or {}, f"{where}.podSelector"),
        policy_types(spec, where),
        parse_rules(spec.get("ingress"), "from", f"{where}.ingress"),
        parse_rules(spec.get("egress"), "to", f"{where}.egress"),
    )


def parse_rules(rules: Optional[list], peers_field: str, where: str) -> tuple[Rule, ...]:
    return tuple(parse_rule(r or {}, peers_field, f"{where}[{i}]")
                 for i, r in enumerate(rules or []))


def parse_rule(obj: dict, peers_field: str, where: str) -> Rule:
    """A rule; an absent or empty from/to or ports list means every peer or port."""
    peers = obj.get(peers_field) or []
    ports = obj.get("ports") or []
    return Rule(
        tuple(parse_peer(p, f"{where}.{peers_field}[{i}]") for i, p in enumerate(peers)) or None,
        tuple(parse_port_spec(p, f"{where}.ports[{i}]") for i, p in enumerate(ports)) or None,
    )


def parse_peer(obj: dict, where: str) -> Peer:
    """A peer: podSelector and/or namespaceSelector, or an ipBlock alone."""
    has_pod, has_ns = obj.get("podSelector") is not None, obj.get("namespaceSelector") is not None
    if obj.get("ipBlock") is not None:
        if has_pod or has_ns:
            raise ModelError(f"{where}: ipBlock excludes podSelector and namespaceSelector")
        return Peer(None, None, parse_ip_block(obj["ipBlock"], f"{where}.ipBlock"))
    if not has_pod and not has_ns:
        raise ModelError(f"{where}: a peer needs podSelector, namespaceSelector or ipBlock")
    return Peer(
        parse_selector(obj["podSelector"], f"{where}.podSelector") if has_pod else None,
        parse_selector(obj["namespaceSelector"], f"{where}.namespaceSelector") if has_ns else None,
        None,
    )


def parse_ip_block(obj: dict, where: str) -> IPBlock:
    """cidr and its excepts; each except must lie strictly inside cidr (as the API validates)."""
    try:
        cidr = ipaddress.ip_network(obj["cidr"], strict=False)
        excepts = tuple(ipaddress.ip_network(e, strict=False) for e in obj.get("except") or [])
    except (KeyError, ValueError) as e:
        raise ModelError(f"{where}: {e}") from None
    for e in excepts:
        if e.version != cidr.version or not e.subnet_of(cidr) or e == cidr:
            raise ModelError(f"{where}: except {e} is not strictly inside {cidr}")
    return IPBlock(cidr, excepts)


PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")


def parse_port_spec(obj: dict, where: str) -> PortSpec:
    """protocol (default TCP), port (number, name or absent) and endPort (numeric port only)."""
    protocol = obj.get("protocol") or "TCP"
    port, end_port = obj.get("port"), obj.get("endPort")
    if protocol not in PROTOCOLS:
        raise ModelError(f"{where}: protocol {protocol!r} (one of {PROTOCOLS})")
    if isinstance(port, bool) or isinstance(end_port, bool):
        raise ModelError(f"{where}: port and endPort are numbers or names, not booleans")
    if isinstance(port, str) and (not PORT_NAME.match(port) or "--" in port):
        raise ModelError(f"{where}: {port!r} is not a port name (IANA_SVC_NAME)")
    if isinstance(port, int) and not 1 <= port <= 65535:
        raise ModelError(f"{where}: port {port} out of range")
    if port is not None and not isinstance(port, (int, str)):
        raise ModelError(f"{where}: port {port!r} is neither a number nor a name")
    if end_port is not None:
        if not isinstance(port, int):
            raise ModelError(f"{where}: endPort needs a numeric port")
        if not isinstance(end_port, int) or not port <= end_port <= 65535:
            raise ModelError(f"{where}: endPort {end_port!r} below port {port} or out of range")
    return PortSpec(protocol, port, end_port)


def parse_policies(objs: Iterable[Union[dict, Policy]]) -> list[Policy]:
    return [o if isinstance(o, Policy) else parse_policy(o) for o in objs]


def load_policies(path: Union[str, Path]) -> list[dict]:
    """A JSON file with one NetworkPolicy, a list of them, or a List object with items."""
    with open(path, encoding="utf-8") as f:
        obj = json.load(f)
    if isinstance(obj, dict):
        return list(obj["items"]) if "items" in obj else [obj]
    return list(obj)


# ---------------------------------------------------------------------------------------------
# Evaluation.


class Probe(NamedTuple):
    """A connection attempt from src to dst (endpoint keys) on port/protocol over IPv4 or 6."""

    src: str
    dst: str
    port: int
    protocol: str
    family: int


def peer_matches(peer: Peer, policy_ns: str, other: Endpoint, cluster: Cluster,
                 family: int) -> bool:
    """Whether the far end of a connection is one of the pods or addresses the peer names.

    ipBlock matches any endpoint's address of the probe's family (pod IPs too). Selectors match
    only pods in the pod network: nodes and hostNetwork pods are reached by ipBlock alone. A
    missing namespaceSelector means the policy's own namespace, a missing podSelector every pod of
    the selected namespaces.
    """
    if peer.ip_block is not None:
        address = other.ip(family)
        return address is not None and peer.ip_block.contains(address)
    if not other.in_pod_network:
        return False
    pod = other.pod
    if peer.namespace_selector is None:
        in_namespace = pod.namespace == policy_ns
    else:
        in_namespace = peer.namespace_selector.matches(cluster.namespaces[pod.namespace].labels)
    return in_namespace and (peer.pod_selector is None or peer.pod_selector.matches(pod.labels))


def port_matches(spec: PortSpec, port: int, protocol: str, dst: Endpoint) -> bool:
    """Whether the destination port/protocol is the one the spec names.

    A named port is looked up on the connection's destination pod (the policy's pod for ingress,
    the far pod for egress): it matches when that pod has a container port of that name and
    protocol whose number is the probe's port. Nodes and hostNetwork pods never match a name.
    """
    if spec.protocol != protocol:
        return False
    if spec.port is None:
        return True
    if isinstance(spec.port, int):
        return spec.port <= port <= (spec.end_port or spec.port)
    if not dst.in_pod_network:
        return False
    return any(cp.name == spec.port and cp.protocol == protocol and cp.number == port
               for cp in dst.pod.ports)


def rule_allows(rule: Rule, policy_ns: str, other: Endpoint, dst: Endpoint, probe: Probe,
                cluster: Cluster) -> bool:
    """A rule allows a connection when one of its peers and one of its ports match."""
    peer_ok = rule.peers is None or any(
        peer_matches(p, policy_ns, other, cluster, probe.family) for p in rule.peers)
    return peer_ok and (rule.ports is None or any(
        port_matches(s, probe.port, probe.protocol, dst) for s in rule.ports))


def isolating(policies: list[Policy], subject: Endpoint, direction: str) -> list[Policy]:
    """The policies that isolate the subject in this direction: same namespace, the direction in
    their types, podSelector matching. Nodes and hostNetwork pods are never selected."""
    if not subject.in_pod_network:
        return []
    pod = subject.pod
    return [p for p in policies
            if p.namespace == pod.namespace and direction in p.types
            and p.pod_selector.matches(pod.labels)]


def direction_allows(policies: list[Policy], direction: str, subject: Endpoint,
                     other: Endpoint, dst: Endpoint, probe: Probe, cluster: Cluster) -> bool:
    """A pod not isolated in this direction allows everything; an isolated one allows what at
    least one rule of one of its isolating policies allows (no rule at all: nothing)."""
    applying = isolating(policies, subject, direction)
    if not applying:
        return True
    return any(rule_allows(rule, policy.namespace, other, dst, probe, cluster)
               for policy in applying for rule in policy.rules(direction))


def exempt(src: Endpoint, dst: Endpoint) -> bool:
    """Traffic no policy can block: a pod to itself, and between a pod and the node it runs on
    (the node itself or a hostNetwork pod there, e.g. kubelet probes)."""
    if src.key == dst.key:
        return True
    for pod, host in ((src, dst), (dst, src)):
        if pod.in_pod_network and not host.in_pod_network and pod.node == host.node:
            return True
    return False


def allowed(cluster: Cluster, policies: list[Policy], probe: Probe) -> bool:
    """Whether the probe's connection is allowed: the source's egress AND the destination's
    ingress must allow it (replies of an allowed connection always pass)."""
    src, dst = cluster.endpoint(probe.src), cluster.endpoint(probe.dst)
    if probe.protocol not in PROTOCOLS:
        raise ModelError(f"{probe}: protocol must be one of {PROTOCOLS}")
    if src.ip(probe.family) is None or dst.ip(probe.family) is None:
        raise ModelError(f"{probe}: an endpoint has no IPv{probe.family} address")
    if exempt(src, dst):
        return True
    return (direction_allows(policies, EGRESS, src, dst, dst, probe, cluster)
            and direction_allows(policies, INGRESS, dst, src, dst, probe, cluster))


def expected(cluster: Union[Cluster, dict], policies: Iterable[Union[dict, Policy]],
             probes: Iterable[tuple]) -> dict[Probe, bool]:
    """The model's verdict for each probe (src, dst, port, protocol, family)."""
    if not isinstance(cluster, Cluster):
        cluster = Cluster.from_json(cluster)
    parsed = parse_policies(policies)
    result = {}
    for p in probes:
        probe = Probe(p[0], p[1], int(p[2]), str(p[3]).upper(), int(p[4]))
        result[probe] = allowed(cluster, parsed, probe)
    return result


# ---------------------------------------------------------------------------------------------
# Probes, matrices (JSON and table), differences.


def parse_port(text: str) -> tuple[int, str]:
    """"80/TCP" -> (80, "TCP"); the protocol defaults to TCP."""
    number, _, protocol = text.strip().partition("/")
    protocol = (protocol or "TCP").upper()
    if protocol not in PROTOCOLS or not number.isdigit():
        raise ModelError(f"port {text!r}: expected NUMBER/PROTOCOL, e.g. 80/TCP")
    return int(number), protocol


def port_label(port: int, protocol: str) -> str:
    return f"{port}/{protocol}"


def all_probes(cluster: Cluster, ports: Iterable[str] = DEFAULT_PORTS,
               families: Iterable[int] = (4,), nodes: bool = False) -> list[Probe]:
    """Every source x destination x port x family, skipping endpoints without an address of
    the family."""
    keys = cluster.endpoint_keys(nodes)
    parsed = [parse_port(p) for p in ports]
    probes = []
    for family in families:
        have = [k for k in keys if cluster.endpoint(k).ip(family) is not None]
        probes += [Probe(s, d, n, proto, family) for s in have for d in have for n, proto in parsed]
    return probes


def matrix_to_json(result: dict[Probe, Optional[bool]]) -> dict:
    return {"format": MATRIX_FORMAT, "probes": [
        {"from": p.src, "to": p.dst, "port": p.port, "protocol": p.protocol,
         "family": p.family, "allowed": ok} for p, ok in result.items()]}


def matrix_from_json(obj: dict) -> dict[Probe, Optional[bool]]:
    """Reads a matrix; "allowed" may be null (the prober could not tell)."""
    result = {}
    for i, item in enumerate(obj.get("probes", [])):
        try:
            probe = Probe(item["from"], item["to"], int(item["port"]),
                          str(item.get("protocol", "TCP")).upper(), int(item.get("family", 4)))
        except (KeyError, ValueError, TypeError) as e:
            raise ModelError(f"probes[{i}]: {e!r}") from None
        result[probe] = item.get("allowed")
    return result


def verdict(ok: Optional[bool]) -> str:
    return {True: "allowed", False: "denied"}.get(ok, "unknown")


def diff_matrices(want: dict[Probe, Optional[bool]],
                  got: dict[Probe, Optional[bool]]) -> list[str]:
    """One line per probe whose verdicts differ or that only one matrix has."""
    lines = []
    for probe in list(want) + [p for p in got if p not in want]:
        name = (f"{probe.src} -> {probe.dst} {port_label(probe.port, probe.protocol)} "
                f"IPv{probe.family}")
        if probe not in got:
            lines.append(f"{name}: expected {verdict(want[probe])}, not observed")
        elif probe not in want:
            lines.append(f"{name}: observed {verdict(got[probe])}, not expected")
        elif want[probe] is not got[probe]:
            lines.append(f"{name}: expected {verdict(want[probe])}, observed {verdict(got[probe])}")
    return lines


def render_table(result: dict[Probe, Optional[bool]]) -> str:
    """Rows: sources, columns: destinations, one character per port in each cell ('.' allowed,
    'X' denied, '?' unknown, '-' not probed); one table per IP family."""
    out = []
    for family in sorted({p.family for p in result}):
        probes = [p for p in result if p.family == family]
        ports = list(dict.fromkeys((p.port, p.protocol) for p in probes))
        rows = list(dict.fromkeys(p.src for p in probes))
        cols = list(dict.fromkeys(p.dst for p in probes))
        out.append(f"IPv{family}, each cell: " + " ".join(port_label(*p) for p in ports)
                   + "  ('.' allowed, 'X' denied)")
        width = max(len(ports), *(len(c) for c in cols)) + 1
        first = max(len(r) for r in rows) + 1
        out.append(" " * first + "".join(c.ljust(width) for c in cols).rstrip())
        for src in rows:
            cells = ["".join(cell_char(result, Probe(src, dst, n, proto, family))
                             for n, proto in ports) for dst in cols]
            out.append(src.ljust(first) + "".join(c.ljust(width) for c in cells).rstrip())
        out.append("")
    return "\n".join(out)


def cell_char(result: dict[Probe, Optional[bool]], probe: Probe) -> str:
    if probe not in result:
        return "-"
    return {True: ".", False: "X"}.get(result[probe], "?")


# ---------------------------------------------------------------------------------------------
# Case files: policies, optional steps, the probes that matter, hand-written denials.

STEP_ACTIONS = ("apply", "delete", "relabel_pod", "relabel_namespace")


def load_case(path: Union[str, Path]) -> dict:
    """Reads a case file and checks its shape (README.md, "Case files")."""
    with open(path, encoding="utf-8") as f:
        case = json.load(f)
    where = Path(path).name
    if not isinstance(case.get("description"), str) or not case["description"]:
        raise ModelError(f"{where}: a description is required")
    if not isinstance(case.get("policies", []), list):
        raise ModelError(f"{where}: policies is a list of NetworkPolicy objects")
    for i, step in enumerate(case.get("steps", [])):
        actions = [a for a in STEP_ACTIONS if a in step]
        if len(actions) != 1:
            raise ModelError(f"{where}: steps[{i}] needs exactly one of {STEP_ACTIONS}")
    for p in case.get("ports", []):
        parse_port(p)
    case.setdefault("name", Path(path).stem)
    return case


@dataclass
class CaseState:
    """The cluster and the applied policies (by namespace/name, in order) as steps change them."""

    cluster: Cluster
    policies: dict[str, dict]

    def parsed(self) -> list[Policy]:
        return parse_policies(self.policies.values())

    def apply(self, obj: dict) -> None:
        """Creates or replaces (same namespace/name) a policy."""
        policy = parse_policy(obj)
        self.policies[f"{policy.namespace}/{policy.name}"] = obj

    def delete(self, key: str) -> None:
        if key not in self.policies:
            raise ModelError(f"delete: no policy {key}")
        del self.policies[key]


def relabel(labels: Labels, step: dict) -> None:
    """Applies a step's "set" (add or change) and "remove" (keys) to a label map."""
    labels.update({k: str(v) for k, v in step.get("set", {}).items()})
    for key in step.get("remove", []):
        labels.pop(key, None)


def apply_step(state: CaseState, step: dict) -> str:
    """Performs one step and returns a short label for it."""
    if "apply" in step:
        state.apply(step["apply"])
        meta = step["apply"].get("metadata", {})
        return f"apply {meta.get('namespace')}/{meta.get('name')}"
    if "delete" in step:
        state.delete(step["delete"])
        return f"delete {step['delete']}"
    if "relabel_pod" in step:
        pod = state.cluster.pods.get(step["relabel_pod"])
        if pod is None:
            raise ModelError(f"relabel_pod: no pod {step['relabel_pod']}")
        relabel(pod.labels, step)
        return f"relabel pod {pod.key}"
    ns = state.cluster.namespaces.get(step["relabel_namespace"])
    if ns is None:
        raise ModelError(f"relabel_namespace: no namespace {step['relabel_namespace']}")
    relabel(ns.labels, step)
    return f"relabel namespace {ns.name}"


@dataclass
class StepResult:
    label: str
    result: dict[Probe, bool]
    expect_denied: Optional[list[str]]


def case_cluster(base: Cluster, case: dict) -> Cluster:
    """The standard cluster plus the case's extra_namespaces and extra_pods."""
    cluster = base.copy()
    for item in case.get("extra_namespaces", []):
        cluster.add_namespace(item)
    for item in case.get("extra_pods", []):
        cluster.add_pod(item)
    return cluster


def run_case(base: Cluster, case: dict) -> list[StepResult]:
    """The expected matrix after the case's policies, then after each step in turn."""
    state = CaseState(case_cluster(base, case), {})
    for obj in case.get("policies", []):
        state.apply(obj)
    probes = all_probes(state.cluster, case.get("ports") or DEFAULT_PORTS,
                        case.get("families") or (4,), bool(case.get("nodes")))
    results = [StepResult("initial", expected(state.cluster, state.parsed(), probes),
                          case.get("expect_denied"))]
    for step in case.get("steps", []):
        label = apply_step(state, step)
        results.append(StepResult(label, expected(state.cluster, state.parsed(), probes),
                                  step.get("expect_denied")))
    return results


PATTERN = re.compile(r"^\s*(\S+)\s*->\s*(\S+)\s+(\S+)(?:\s+(v4|v6))?\s*$")


def expand_denied(patterns: Iterable[str], probes: Iterable[Probe]) -> set[Probe]:
    """The probes the hand-written patterns "SRC -> DST PORTS [v4|v6]" name.

    SRC and DST are globs on endpoint keys ("x/*", "*/a", "*"), PORTS a comma list of globs on
    "PORT/PROTOCOL" ("*", "80/TCP", "*/UDP"). A pattern never names a pod's probe to itself.
    """
    parsed = []
    for text in patterns:
        m = PATTERN.match(text)
        if not m:
            raise ModelError(f"pattern {text!r}: expected 'SRC -> DST PORTS [v4|v6]'")
        src, dst, ports, family = m.groups()
        parsed.append((src, dst, ports.split(","), int(family[1]) if family else None))
    return {p for p in probes if p.src != p.dst and any(pattern_names(q, p) for q in parsed)}


def pattern_names(pattern: tuple, probe: Probe) -> bool:
    src, dst, ports, family = pattern
    label = port_label(probe.port, probe.protocol)
    return (fnmatch.fnmatchcase(probe.src, src) and fnmatch.fnmatchcase(probe.dst, dst)
            and any(fnmatch.fnmatchcase(label, g) for g in ports)
            and family in (None, probe.family))


# ---------------------------------------------------------------------------------------------
# Command line.


def write_outputs(document: Any, tables: str, out: Optional[str]) -> None:
    """JSON to --out and the table(s) to stdout; without --out, JSON to stdout, tables to
    stderr, so that the JSON can be piped."""
    text = json.dumps(document, indent=1) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
        sys.stdout.write(tables)
    else:
        sys.stderr.write(tables)
        sys.stdout.write(text)


def cmd_expect(args: argparse.Namespace) -> int:
    cluster = load_cluster(args.cluster)
    policies = load_policies(args.policies) if args.policies else []
    families = [int(f) for f in args.family.split(",")]
    if any(f not in (4, 6) for f in families):
        raise ModelError(f"--family {args.family}: 4, 6 or 4,6")
    probes = all_probes(cluster, args.ports.split(","), families, args.nodes)
    result = expected(cluster, policies, probes)
    write_outputs(matrix_to_json(result), render_table(result), args.out)
    return 0


def cmd_case(args: argparse.Namespace) -> int:
    case = load_case(args.case)
    steps = run_case(load_cluster(args.cluster), case)
    if args.step is not None and not 0 <= args.step < len(steps):
        raise ModelError(f"--step {args.step}: the case has steps 0 to {len(steps) - 1}")
    if args.step is not None:
        steps = [steps[args.step]]
    tables = "".join(f"== {case['name']}: {s.label}\n{render_table(s.result)}\n" for s in steps)
    if args.step is not None:
        document = matrix_to_json(steps[0].result)
    else:
        document = {"case": case["name"], "steps": [
            dict(matrix_to_json(s.result), label=s.label) for s in steps]}
    write_outputs(document, tables, args.out)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    with open(args.expected, encoding="utf-8") as f:
        want = matrix_from_json(json.load(f))
    with open(args.observed, encoding="utf-8") as f:
        got = matrix_from_json(json.load(f))
    lines = diff_matrices(want, got)
    for line in lines:
        print(line)
    print(f"{len(lines)} differing cell(s) of {len(want)} expected" if lines
          else f"no differences ({len(want)} cells)")
    return 1 if lines else 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("expect", help="the expected matrix of a cluster under some policies")
    p.add_argument("--cluster", default=str(DEFAULT_CLUSTER))
    p.add_argument("--policies", help="JSON: a NetworkPolicy, a list, or a List with items")
    p.add_argument("--ports", default=",".join(DEFAULT_PORTS))
    p.add_argument("--family", default="4", help="4, 6 or 4,6")
    p.add_argument("--nodes", action="store_true", help="probe from and to the nodes too")
    p.add_argument("--out", help="write the JSON here (the table goes to stdout)")
    p.set_defaults(func=cmd_expect)
    p = sub.add_parser("case", help="the expected matrices of a case file, step by step")
    p.add_argument("case")
    p.add_argument("--cluster", default=str(DEFAULT_CLUSTER))
    p.add_argument("--step", type=int, help="only this step (0: the initial policies), as a "
                   "plain matrix that diff reads")
    p.add_argument("--out", help="write the JSON here (the tables go to stdout)")
    p.set_defaults(func=cmd_case)
    p = sub.add_parser("diff", help="cells where an observed matrix differs; exit 1 if any")
    p.add_argument("expected")
    p.add_argument("observed")
    p.set_defaults(func=cmd_diff)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ModelError, OSError, json.JSONDecodeError) as e:
        print(f"model.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
