"""weft-node's NetworkPolicy compiler (agent/policy.c, through build/tests/policy-eval) against
the model (model.py): every case and every step of it, every probe between pods in the pod
network. The node exception and hostNetwork endpoints are the datapath's business, not the
compiler's, so probes with a node or a hostNetwork pod at either end are left out.

The binary: $WEFT_POLICY_EVAL, else build/tests/policy-eval (make unit builds it); the test
skips, saying so, when there is none."""

import json
import os
import subprocess
import unittest
from pathlib import Path

import model

HERE = Path(__file__).resolve().parent
EVAL = Path(os.environ.get("WEFT_POLICY_EVAL", HERE.parent.parent / "build/tests/policy-eval"))


def k8s_objects(cluster: model.Cluster, policies: dict) -> dict:
    """The cluster as the informers would hold it: Namespace, Pod and NetworkPolicy objects."""
    namespaces = {n.name: {"metadata": {"name": n.name, "labels": dict(n.labels)}}
                  for n in cluster.namespaces.values()}
    pods = {}
    for p in cluster.pods.values():
        ports = [{"name": c.name, "containerPort": c.number, "protocol": c.protocol}
                 for c in p.ports if c.name]
        ips = p.ips or cluster.nodes[p.node].ips
        pods[p.key] = {
            "metadata": {"namespace": p.namespace, "name": p.name, "labels": dict(p.labels)},
            "spec": {"hostNetwork": p.host_network, "containers": [{"ports": ports}]},
            "status": {"podIPs": [{"ip": ip} for ip in ips]}}
    return {"namespaces": namespaces, "pods": pods, "policies": dict(policies)}


def in_pod_network(cluster: model.Cluster, key: str) -> bool:
    pod = cluster.pods.get(key)
    return pod is not None and not pod.host_network


class CrossCheck(unittest.TestCase):
    def setUp(self):
        if not EVAL.exists():
            self.skipTest(f"{EVAL} not built (make unit builds it)")
        self.base = model.load_cluster()

    def compare(self, name: str, state: model.CaseState, probes: list) -> int:
        probes = [p for p in probes
                  if in_pod_network(state.cluster, p.src) and in_pod_network(state.cluster, p.dst)]
        want = model.expected(state.cluster, state.parsed(), probes)
        doc = k8s_objects(state.cluster, state.policies)
        doc["probes"] = [{"from": p.src, "to": p.dst, "port": p.port, "protocol": p.protocol,
                          "family": p.family} for p in probes]
        out = subprocess.run([str(EVAL)], input=json.dumps(doc), capture_output=True,
                             text=True, check=True).stdout
        got = {model.Probe(o["from"], o["to"], o["port"], o["protocol"], o["family"]):
               o["allowed"] for o in json.loads(out)}
        diff = [f"{p.src} -> {p.dst} {p.port}/{p.protocol} v{p.family}: model "
                f"{'allows' if ok else 'denies'}, weft {got.get(p)}"
                for p, ok in want.items() if got.get(p) is not ok]
        self.assertEqual(diff, [], f"{name}: {len(diff)} of {len(want)} probes differ")
        return len(want)

    def test_every_case_and_step(self):
        total = 0
        for path in sorted((HERE / "cases").glob("*.json")):
            case = model.load_case(path)
            with self.subTest(case=case["name"]):
                state = model.CaseState(model.case_cluster(self.base, case), {})
                for obj in case.get("policies", []):
                    state.apply(obj)
                probes = model.all_probes(state.cluster, case.get("ports") or model.DEFAULT_PORTS,
                                          case.get("families") or (4,), False)
                total += self.compare(case["name"], state, probes)
                for i, step in enumerate(case.get("steps", [])):
                    model.apply_step(state, step)
                    total += self.compare(f"{case['name']} step {i + 1}", state, probes)
        self.assertGreater(total, 10000)
        print(f"\n  policy cross-check: {total} probes agree", flush=True)


if __name__ == "__main__":
    unittest.main()
