"""Tests of the NetworkPolicy model (model.py) and of the case files in cases/.

Run: python3 -m unittest discover -s tests/policy -p 'test_*.py'
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import model  # noqa: E402
from model import ModelError, Probe  # noqa: E402

CASES = sorted((Path(__file__).resolve().parent / "cases").glob("*.json"))
ALL_PORTS = [(80, "TCP"), (81, "TCP"), (80, "UDP"), (81, "UDP"), (80, "SCTP")]


def policy(ns: str, name: str = "p", **spec) -> dict:
    """A NetworkPolicy object; spec fields as keyword arguments (podSelector defaults to {})."""
    spec.setdefault("podSelector", {})
    return {"metadata": {"namespace": ns, "name": name}, "spec": spec}


def labels(**kv: str) -> dict:
    return {"matchLabels": kv}


def expr(key: str, operator: str, *values: str) -> dict:
    e = {"key": key, "operator": operator}
    if values:
        e["values"] = list(values)
    return {"matchExpressions": [e]}


class ModelTest(unittest.TestCase):
    """Helpers shared by the tests: the standard cluster and one-probe verdicts."""

    def setUp(self) -> None:
        self.cluster = model.load_cluster()

    def ok(self, policies: list, src: str, dst: str, port: int = 80, proto: str = "TCP",
           family: int = 4) -> bool:
        probe = Probe(src, dst, port, proto, family)
        return model.expected(self.cluster, policies, [probe])[probe]

    def add_host_pod(self, key: str, node: str) -> None:
        ns, name = key.split("/")
        self.cluster.add_pod({"namespace": ns, "name": name, "labels": {"pod": name},
                              "node": node, "hostNetwork": True})


class SelectorTest(unittest.TestCase):
    def sel(self, obj: dict) -> model.Selector:
        return model.parse_selector(obj, "test")

    def test_empty_selects_everything(self) -> None:
        self.assertTrue(self.sel({}).matches({}))
        self.assertTrue(self.sel({}).matches({"a": "b"}))

    def test_match_labels_needs_every_pair(self) -> None:
        s = self.sel({"matchLabels": {"a": "1", "b": "2"}})
        self.assertTrue(s.matches({"a": "1", "b": "2", "c": "3"}))
        self.assertFalse(s.matches({"a": "1"}))
        self.assertFalse(s.matches({"a": "1", "b": "3"}))

    def test_in(self) -> None:
        s = self.sel(expr("k", "In", "a", "b"))
        self.assertTrue(s.matches({"k": "a"}))
        self.assertTrue(s.matches({"k": "b"}))
        self.assertFalse(s.matches({"k": "c"}))
        self.assertFalse(s.matches({}))

    def test_not_in_matches_absent_key(self) -> None:
        s = self.sel(expr("k", "NotIn", "a"))
        self.assertFalse(s.matches({"k": "a"}))
        self.assertTrue(s.matches({"k": "b"}))
        self.assertTrue(s.matches({}))

    def test_exists_and_does_not_exist(self) -> None:
        self.assertTrue(self.sel(expr("k", "Exists")).matches({"k": ""}))
        self.assertFalse(self.sel(expr("k", "Exists")).matches({"j": "x"}))
        self.assertTrue(self.sel(expr("k", "DoesNotExist")).matches({"j": "x"}))
        self.assertFalse(self.sel(expr("k", "DoesNotExist")).matches({"k": "x"}))

    def test_labels_and_expressions_anded(self) -> None:
        s = self.sel({"matchLabels": {"a": "1"}, **expr("b", "Exists")})
        self.assertTrue(s.matches({"a": "1", "b": "x"}))
        self.assertFalse(s.matches({"a": "1"}))
        self.assertFalse(s.matches({"b": "x"}))

    def test_invalid_expressions(self) -> None:
        for bad in (expr("k", "In"), expr("k", "NotIn"), expr("k", "Exists", "v"),
                    expr("k", "DoesNotExist", "v"), expr("k", "Equals", "v"), expr("", "Exists"),
                    {"matchLabel": {}}):
            with self.subTest(bad=bad), self.assertRaises(ModelError):
                self.sel(bad)


class PolicyTypesTest(unittest.TestCase):
    def types(self, **spec) -> set:
        return set(model.policy_types(spec))

    def test_defaults(self) -> None:
        self.assertEqual(self.types(), {"Ingress"})
        self.assertEqual(self.types(ingress=[{}]), {"Ingress"})
        self.assertEqual(self.types(egress=[{}]), {"Ingress", "Egress"})
        self.assertEqual(self.types(ingress=[{}], egress=[{"to": []}]), {"Ingress", "Egress"})

    def test_empty_egress_list_is_no_egress_section(self) -> None:
        self.assertEqual(self.types(egress=[]), {"Ingress"})

    def test_empty_policy_types_defaults(self) -> None:
        self.assertEqual(self.types(policyTypes=[], egress=[{}]), {"Ingress", "Egress"})

    def test_explicit(self) -> None:
        self.assertEqual(self.types(policyTypes=["Egress"], ingress=[{}]), {"Egress"})
        self.assertEqual(self.types(policyTypes=["Ingress"], egress=[{}]), {"Ingress"})
        with self.assertRaises(ModelError):
            self.types(policyTypes=["ingress"])


class ValidationTest(unittest.TestCase):
    def bad(self, **spec) -> None:
        with self.assertRaises(ModelError):
            model.parse_policy(policy("x", **spec))

    def test_peers(self) -> None:
        self.bad(ingress=[{"from": [{}]}])
        self.bad(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}])
        self.bad(egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": {}}]}])

    def test_ip_blocks(self) -> None:
        self.bad(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}])
        for outside in ("11.0.0.0/16", "10.0.0.0/8", "10.0.0.0/7", "fd00::/64"):
            with self.subTest(outside=outside):
                block = {"cidr": "10.0.0.0/8", "except": [outside]}
                self.bad(ingress=[{"from": [{"ipBlock": block}]}])

    def test_ports(self) -> None:
        for port in ({"port": 80, "protocol": "ICMP"}, {"port": 0}, {"port": 65536},
                     {"port": "HTTP"}, {"port": "80"}, {"port": "a--b"},
                     {"port": "sixteen-chars-xx"}, {"port": "http", "endPort": 90},
                     {"port": 90, "endPort": 80}, {"endPort": 80}, {"port": True}):
            with self.subTest(port=port):
                self.bad(ingress=[{"ports": [port]}])

    def test_metadata(self) -> None:
        with self.assertRaises(ModelError):
            model.parse_policy({"metadata": {"name": "p"}, "spec": {}})

    def test_valid(self) -> None:
        p = model.parse_policy(policy("x", ingress=[{"ports": [
            {"port": "serve-80-tcp"}, {"port": 80, "endPort": 90, "protocol": "UDP"},
            {"protocol": "SCTP"}]}]))
        self.assertEqual(p.ingress[0].ports[2], model.PortSpec("SCTP", None, None))
        self.assertIsNone(p.ingress[0].peers)


class IsolationTest(ModelTest):
    def test_no_policy_allows(self) -> None:
        self.assertTrue(self.ok([], "y/a", "x/a"))

    def test_deny_all_ingress(self) -> None:
        deny = [policy("x", policyTypes=["Ingress"])]
        self.assertFalse(self.ok(deny, "y/a", "x/a"))
        self.assertFalse(self.ok(deny, "x/b", "x/a"))
        self.assertTrue(self.ok(deny, "x/a", "y/a"), "egress untouched")

    def test_egress_and_ingress_both_needed(self) -> None:
        pols = [policy("x", podSelector=labels(pod="a"), policyTypes=["Egress"],
                       egress=[{"to": [{"namespaceSelector": labels(ns="y")}]}]),
                policy("y", podSelector=labels(pod="b"), ingress=[{"from": [
                    {"namespaceSelector": labels(ns="z")}]}])]
        self.assertTrue(self.ok(pols, "x/a", "y/a"))
        self.assertFalse(self.ok(pols, "x/a", "y/b"), "y/b's ingress refuses x")
        self.assertFalse(self.ok(pols, "x/a", "z/a"), "x/a's egress refuses z")
        self.assertTrue(self.ok(pols, "z/a", "y/b"))

    def test_union_of_policies(self) -> None:
        pols = [policy("x", "from-y", ingress=[{"from": [{"namespaceSelector": labels(ns="y")}]}]),
                policy("x", "from-z", ingress=[{"from": [{"namespaceSelector": labels(ns="z")}],
                                                "ports": [{"port": 81}]}])]
        self.assertTrue(self.ok(pols, "y/a", "x/a"))
        self.assertFalse(self.ok(pols, "z/a", "x/a", 80))
        self.assertTrue(self.ok(pols, "z/a", "x/a", 81))
        self.assertFalse(self.ok(pols, "x/b", "x/a"))

    def test_policy_only_selects_its_namespace(self) -> None:
        deny = [policy("y", podSelector=labels(pod="a"), policyTypes=["Ingress"])]
        self.assertTrue(self.ok(deny, "z/b", "x/a"))
        self.assertFalse(self.ok(deny, "z/b", "y/a"))

    def test_self_always_allowed(self) -> None:
        deny = [policy("x", policyTypes=["Ingress", "Egress"])]
        self.assertTrue(self.ok(deny, "x/a", "x/a"))
        self.assertFalse(self.ok(deny, "x/a", "x/b"))

    def test_rule_without_from_or_ports_allows_all(self) -> None:
        pols = [policy("x", ingress=[{"from": [], "ports": []}])]
        self.assertTrue(self.ok(pols, "z/c", "x/a", 81, "SCTP"))


class PeerTest(ModelTest):
    def from_(self, *peers: dict) -> list:
        return [policy("x", podSelector=labels(pod="a"), ingress=[{"from": list(peers)}])]

    def test_pod_selector_alone_is_own_namespace(self) -> None:
        pols = self.from_({"podSelector": labels(pod="b")})
        self.assertTrue(self.ok(pols, "x/b", "x/a"))
        self.assertFalse(self.ok(pols, "y/b", "x/a"))

    def test_namespace_selector_alone_is_every_pod(self) -> None:
        pols = self.from_({"namespaceSelector": labels(ns="y")})
        for pod in ("y/a", "y/b", "y/c"):
            self.assertTrue(self.ok(pols, pod, "x/a"))
        self.assertFalse(self.ok(pols, "x/b", "x/a"))

    def test_and_in_one_peer(self) -> None:
        pols = self.from_({"namespaceSelector": labels(ns="y"), "podSelector": labels(pod="b")})
        self.assertTrue(self.ok(pols, "y/b", "x/a"))
        self.assertFalse(self.ok(pols, "y/c", "x/a"))
        self.assertFalse(self.ok(pols, "x/b", "x/a"))
        self.assertFalse(self.ok(pols, "z/b", "x/a"))

    def test_or_in_two_peers(self) -> None:
        pols = self.from_({"namespaceSelector": labels(ns="y")}, {"podSelector": labels(pod="b")})
        self.assertTrue(self.ok(pols, "y/c", "x/a"))
        self.assertTrue(self.ok(pols, "x/b", "x/a"))
        self.assertFalse(self.ok(pols, "z/b", "x/a"))
        self.assertFalse(self.ok(pols, "x/c", "x/a"))

    def test_namespace_labels_matter(self) -> None:
        pols = self.from_({"namespaceSelector": labels(team="blue")})
        self.assertFalse(self.ok(pols, "z/a", "x/a"))
        self.cluster.namespaces["z"].labels["team"] = "blue"
        self.assertTrue(self.ok(pols, "z/a", "x/a"))

    def test_metadata_name_label_is_set(self) -> None:
        c = model.Cluster.from_json({"nodes": [], "namespaces": [{"name": "q"}], "pods": []})
        self.assertEqual(c.namespaces["q"].labels, {"kubernetes.io/metadata.name": "q"})


class IPBlockTest(ModelTest):
    def block(self, cidr: str, *excepts: str, direction: str = "ingress") -> list:
        peer = {"ipBlock": {"cidr": cidr, "except": list(excepts)}}
        if direction == "ingress":
            return [policy("x", ingress=[{"from": [peer]}])]
        return [policy("x", policyTypes=["Egress"], egress=[{"to": [peer]}])]

    def test_except(self) -> None:
        pols = self.block("10.244.0.0/16", "10.244.2.21/32")   # y/a
        self.assertTrue(self.ok(pols, "y/b", "x/a"))
        self.assertFalse(self.ok(pols, "y/a", "x/a"))

    def test_except_subnet(self) -> None:
        pols = self.block("10.244.1.0/24", "10.244.1.32/30")   # z/c .33, not z/a .31
        self.assertTrue(self.ok(pols, "z/a", "x/b"))
        self.assertFalse(self.ok(pols, "z/c", "x/b"))
        self.assertFalse(self.ok(pols, "z/b", "x/b"), "n2 is outside the cidr")

    def test_egress(self) -> None:
        pols = self.block("10.244.2.0/24", direction="egress")
        self.assertTrue(self.ok(pols, "x/a", "y/a"))
        self.assertFalse(self.ok(pols, "x/a", "y/b"))

    def test_family(self) -> None:
        v4, v6 = self.block("10.244.0.0/16"), self.block("fd00:244::/32")
        self.assertTrue(self.ok(v4, "y/a", "x/a", family=4))
        self.assertFalse(self.ok(v4, "y/a", "x/a", family=6))
        self.assertFalse(self.ok(v6, "y/a", "x/a", family=4))
        self.assertTrue(self.ok(v6, "y/a", "x/a", family=6))

    def test_missing_family_is_an_error(self) -> None:
        self.cluster.pods["y/a"].ips = ["10.244.2.21"]
        with self.assertRaises(ModelError):
            self.ok([], "y/a", "x/a", family=6)
        probes = model.all_probes(self.cluster, ["80/TCP"], [6])
        self.assertEqual(len(probes), 8 * 8)


class PortTest(ModelTest):
    def ports(self, *specs: dict, direction: str = "ingress") -> list:
        if direction == "ingress":
            return [policy("x", ingress=[{"ports": list(specs)}])]
        return [policy("x", policyTypes=["Egress"], egress=[{"ports": list(specs)}])]

    def test_protocol_defaults_to_tcp(self) -> None:
        pols = self.ports({"port": 80})
        self.assertTrue(self.ok(pols, "y/a", "x/a", 80, "TCP"))
        self.assertFalse(self.ok(pols, "y/a", "x/a", 80, "UDP"))
        self.assertFalse(self.ok(pols, "y/a", "x/a", 81, "TCP"))

    def test_protocol_without_port(self) -> None:
        pols = self.ports({"protocol": "SCTP"})
        self.assertTrue(self.ok(pols, "y/a", "x/a", 80, "SCTP"))
        self.assertTrue(self.ok(pols, "y/a", "x/a", 9999, "SCTP"))
        self.assertFalse(self.ok(pols, "y/a", "x/a", 80, "TCP"))

    def test_end_port_range_inclusive(self) -> None:
        pols = self.ports({"protocol": "UDP", "port": 81, "endPort": 90})
        self.assertFalse(self.ok(pols, "y/a", "x/a", 80, "UDP"))
        self.assertTrue(self.ok(pols, "y/a", "x/a", 81, "UDP"))
        self.assertTrue(self.ok(pols, "y/a", "x/a", 90, "UDP"))
        self.assertFalse(self.ok(pols, "y/a", "x/a", 91, "UDP"))
        self.assertFalse(self.ok(pols, "y/a", "x/a", 85, "TCP"))

    def test_named_port_on_the_target_pod(self) -> None:
        pols = self.ports({"port": "http"})   # x/a: none, x/b: 80/TCP, x/c: 81/TCP
        self.assertFalse(self.ok(pols, "y/a", "x/a", 80))
        self.assertFalse(self.ok(pols, "y/a", "x/a", 81))
        self.assertTrue(self.ok(pols, "y/a", "x/b", 80))
        self.assertFalse(self.ok(pols, "y/a", "x/b", 81))
        self.assertTrue(self.ok(pols, "y/a", "x/c", 81))
        self.assertFalse(self.ok(pols, "y/a", "x/c", 80))

    def test_named_port_protocol_must_match(self) -> None:
        pols = self.ports({"port": "http", "protocol": "UDP"})
        self.assertFalse(self.ok(pols, "y/a", "x/b", 80, "TCP"))
        self.assertFalse(self.ok(pols, "y/a", "x/b", 80, "UDP"))
        pols = self.ports({"port": "serve-81-udp", "protocol": "UDP"})
        self.assertTrue(self.ok(pols, "y/a", "x/a", 81, "UDP"))
        self.assertFalse(self.ok(pols, "y/a", "x/c", 81, "UDP"), "x/c names it dns")

    def test_named_port_egress_uses_destination_pod(self) -> None:
        pols = self.ports({"port": "http"}, direction="egress")
        self.assertTrue(self.ok(pols, "x/a", "y/b", 80))
        self.assertFalse(self.ok(pols, "x/a", "y/b", 81))
        self.assertTrue(self.ok(pols, "x/a", "y/c", 81))
        self.assertFalse(self.ok(pols, "x/a", "y/a", 80))

    def test_named_port_never_matches_a_node(self) -> None:
        self.add_host_pod("y/h", "n2")
        self.cluster.pods["y/h"].ports = [model.ContainerPort("http", 80, "TCP")]
        pols = self.ports({"port": "http"}, direction="egress")
        self.assertFalse(self.ok(pols, "x/a", "y/h", 80))


class HostNetworkTest(ModelTest):
    def test_takes_the_node_ips(self) -> None:
        self.add_host_pod("x/h", "n1")
        self.assertEqual(self.cluster.pods["x/h"].ips, self.cluster.nodes["n1"].ips)
        with self.assertRaises(ModelError):
            self.cluster.add_pod({"namespace": "x", "name": "g", "node": "n1",
                                  "hostNetwork": True, "ips": ["10.9.9.9"]})

    def test_never_isolated(self) -> None:
        self.add_host_pod("x/h", "n2")
        deny = [policy("x", policyTypes=["Ingress", "Egress"])]
        self.assertTrue(self.ok(deny, "y/a", "x/h"))
        self.assertTrue(self.ok([policy("y", policyTypes=["Egress"])] + deny, "x/h", "z/a"))

    def test_not_matched_by_selectors(self) -> None:
        self.add_host_pod("x/h", "n2")
        for peer in ({"podSelector": {}}, {"namespaceSelector": {}},
                     {"podSelector": labels(pod="h"), "namespaceSelector": {}}):
            pols = [policy("x", podSelector=labels(pod="a"), ingress=[{"from": [peer]}])]
            with self.subTest(peer=peer):
                self.assertFalse(self.ok(pols, "x/h", "x/a"))   # x/a is on n1

    def test_matched_by_ip_block_of_the_node(self) -> None:
        self.add_host_pod("y/h", "n2")
        pols = [policy("x", ingress=[{"from": [{"ipBlock": {"cidr": "192.168.100.2/32"}}]}])]
        self.assertTrue(self.ok(pols, "y/h", "x/a"))
        self.assertFalse(self.ok(pols, "y/b", "x/a"))

    def test_same_node_is_node_traffic(self) -> None:
        self.add_host_pod("y/h", "n1")
        deny = [policy("x", policyTypes=["Ingress", "Egress"])]
        self.assertTrue(self.ok(deny, "y/h", "x/a"), "x/a runs on n1")
        self.assertFalse(self.ok(deny, "y/h", "x/b"), "x/b runs on n2")
        self.assertTrue(self.ok(deny, "x/c", "y/h"), "x/c runs on n1")


class NodeTest(ModelTest):
    def test_node_reaches_its_own_pods(self) -> None:
        deny = [policy("x", policyTypes=["Ingress", "Egress"])]
        self.assertTrue(self.ok(deny, "node:n1", "x/a"))
        self.assertTrue(self.ok(deny, "node:n2", "x/b"))
        self.assertFalse(self.ok(deny, "node:n2", "x/a"))
        self.assertTrue(self.ok(deny, "x/a", "node:n1"))
        self.assertFalse(self.ok(deny, "x/a", "node:n2"))

    def test_other_node_by_ip_block(self) -> None:
        pols = [policy("x", ingress=[{"from": [{"ipBlock": {"cidr": "192.168.100.2/32"}}]}])]
        self.assertTrue(self.ok(pols, "node:n2", "x/a"))
        self.assertFalse(self.ok(pols, "node:n2", "x/a", family=6))
        self.assertFalse(self.ok([policy("x", ingress=[{"from": [{"podSelector": {}}]}])],
                                 "node:n2", "x/a"))

    def test_probes_with_nodes(self) -> None:
        probes = model.all_probes(self.cluster, ["80/TCP"], [4], nodes=True)
        self.assertEqual(len(probes), 11 * 11)


class MatrixTest(ModelTest):
    def test_expected_api_with_plain_objects(self) -> None:
        raw = json.loads((Path(model.__file__).parent / "cluster.json").read_text())
        result = model.expected(raw, [policy("x", policyTypes=["Ingress"])],
                                [("y/a", "x/a", 80, "tcp", 4), ("x/a", "y/a", 80, "TCP", 4)])
        self.assertEqual(result, {("y/a", "x/a", 80, "TCP", 4): False,
                                  ("x/a", "y/a", 80, "TCP", 4): True})

    def test_json_round_trip_and_diff(self) -> None:
        probes = model.all_probes(self.cluster, ["80/TCP", "81/UDP"], [4, 6])
        want = model.expected(self.cluster, [policy("x", policyTypes=["Ingress"])], probes)
        got = model.matrix_from_json(json.loads(json.dumps(model.matrix_to_json(want))))
        self.assertEqual(got, want)
        self.assertEqual(model.diff_matrices(want, got), [])
        flipped = Probe("y/a", "x/b", 81, "UDP", 6)
        got[flipped] = True
        del got[Probe("x/a", "x/b", 80, "TCP", 4)]
        got[Probe("x/a", "x/b", 99, "TCP", 4)] = None
        lines = model.diff_matrices(want, got)
        self.assertEqual(len(lines), 3)
        self.assertIn("y/a -> x/b 81/UDP IPv6: expected denied, observed allowed", lines)

    def test_table(self) -> None:
        probes = model.all_probes(self.cluster, ["80/TCP", "81/TCP"], [4])
        table = model.render_table(model.expected(
            self.cluster, [policy("x", podSelector=labels(pod="b"), policyTypes=["Ingress"])],
            probes))
        rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:] if line}
        self.assertEqual(rows["y/c"][:3], ["..", "XX", ".."])
        self.assertEqual(rows["x/b"][1], "..")

    def test_cli_expect_and_diff(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            pols, exp, obs = (Path(tmp) / n for n in ("p.json", "e.json", "o.json"))
            pols.write_text(json.dumps({"items": [policy("x", policyTypes=["Ingress"])]}))
            with contextlib.redirect_stdout(io.StringIO()) as out:
                rc = model.main(["expect", "--policies", str(pols), "--family", "4,6",
                                 "--out", str(exp)])
            self.assertEqual(rc, 0)
            self.assertIn("IPv6", out.getvalue())
            doc = json.loads(exp.read_text())
            self.assertEqual(len(doc["probes"]), 2 * 81 * 5)
            self.assertEqual(sum(not p["allowed"] for p in doc["probes"]), 2 * 24 * 5)
            obs.write_text(exp.read_text())
            with contextlib.redirect_stdout(io.StringIO()):
                self.assertEqual(model.main(["diff", str(exp), str(obs)]), 0)
            doc["probes"][1]["allowed"] = not doc["probes"][1]["allowed"]
            obs.write_text(json.dumps(doc))
            with contextlib.redirect_stdout(io.StringIO()) as out:
                self.assertEqual(model.main(["diff", str(exp), str(obs)]), 1)
            self.assertIn("x/a -> x/a 81/TCP IPv4: expected allowed, observed denied",
                          out.getvalue())


    def test_cli_case_step(self) -> None:
        case = str(Path(model.__file__).parent / "cases" / "policy-update-and-delete.json")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "step.json"
            with contextlib.redirect_stdout(io.StringIO()) as tables:
                self.assertEqual(model.main(["case", case, "--step", "1", "--out", str(out)]), 0)
            self.assertIn("apply x/deny-ingress", tables.getvalue())
            result = model.matrix_from_json(json.loads(out.read_text()))
            self.assertFalse(result[Probe("z/a", "x/b", 80, "TCP", 4)])
            self.assertTrue(result[Probe("y/a", "x/b", 80, "TCP", 4)])
            with contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(model.main(["case", case, "--step", "4"]), 2)


class PatternTest(unittest.TestCase):
    def test_expand(self) -> None:
        probes = [Probe(s, d, n, p, f) for s in ("x/a", "y/a") for d in ("x/a", "x/b")
                  for n, p in ALL_PORTS for f in (4, 6)]
        self.assertEqual(len(model.expand_denied(["* -> * *"], probes)), 3 * 5 * 2)
        got = model.expand_denied(["y/* -> x/? */UDP,80/SCTP v6"], probes)
        self.assertEqual(len(got), 2 * 3)
        self.assertTrue(all(p.family == 6 and p.src == "y/a" for p in got))
        with self.assertRaises(ModelError):
            model.expand_denied(["x/a x/b *"], probes)


class CasesTest(unittest.TestCase):
    """Every case file loads and evaluates; hand-written expectations hold."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.cluster = model.load_cluster()
        cls.results = {path.stem: (model.load_case(path), None) for path in CASES}
        for name, (case, _) in cls.results.items():
            cls.results[name] = (case, model.run_case(cls.cluster, case))

    def test_enough_cases(self) -> None:
        self.assertGreaterEqual(len(CASES), 45)
        self.assertGreaterEqual(sum(1 for c, _ in self.results.values() if "expect_denied" in c), 8)

    def test_every_case_evaluates(self) -> None:
        for name, (case, steps) in self.results.items():
            with self.subTest(case=name):
                self.assertEqual(len(steps), 1 + len(case.get("steps", [])))
                for step in steps:
                    self.assertTrue(step.result)
                    self.assertTrue(all(isinstance(v, bool) for v in step.result.values()))

    def test_cases_change_something(self) -> None:
        """A case whose every step allows everything tests nothing (unless it says so)."""
        for name, (case, steps) in self.results.items():
            if case.get("expect_denied") == [] and not case.get("steps"):
                continue
            with self.subTest(case=name):
                self.assertTrue(any(not ok for s in steps for ok in s.result.values()))

    def test_hand_written_expectations(self) -> None:
        checked = 0
        for name, (case, steps) in self.results.items():
            for step in steps:
                if step.expect_denied is None:
                    continue
                with self.subTest(case=name, step=step.label):
                    want = model.expand_denied(step.expect_denied, step.result)
                    got = {p for p, ok in step.result.items() if not ok}
                    self.assertEqual(sorted(got - want), [], "denied, not hand-written")
                    self.assertEqual(sorted(want - got), [], "hand-written, not denied")
                checked += 1
        self.assertGreaterEqual(checked, 8)

    def test_steps_change_the_matrix(self) -> None:
        for name, (case, steps) in self.results.items():
            for before, after in zip(steps, steps[1:]):
                with self.subTest(case=name, step=after.label):
                    self.assertNotEqual(before.result, after.result)


if __name__ == "__main__":
    unittest.main()
