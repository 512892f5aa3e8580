#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The bench's policy part (tests/bench/part-policy.sh): objects and the latency driver.

  policy.py objects DIR PODS LOCAL POLICIES
      DIR/ns.json, DIR/pods.json, DIR/pols.json ({"items": [...]}, one bulk admin call each):
      10 Namespaces ns-0..ns-9 (labels ns, team t-0..t-2); PODS Pods p-00000.. in ns-(i % 10),
      labels app a-(i % 50), tier frontend|backend|db (i % 3), IP 10.128.(i / 250).(1 + i % 250),
      a named port web=8080; the first LOCAL on node-a (this node), the rest on node-1..node-49
      (API objects only: dispatch is by IP, no netns needed). POLICIES NetworkPolicies np-0000..
      in ns-(j % 10) selecting app a-(j % 50) (so every local pod is selected by about
      POLICIES / 50 of them): ingress from tier=frontend pods of the namespace or app
      a-(j + 1 % 50) pods of team t-(j % 3) namespaces on TCP 7000 + j and "web"; every third
      one also from an ipBlock 172.16.(j % 256).0/24 except its upper /25; every fourth one
      with egress to tier=db pods on TCP 5432.
  policy.py dp-policies FILE N BLOCKS ALLOW-CIDR
      N policies in namespace dp selecting role=sel pods, Ingress and Egress, each holding BLOCKS
      ipBlock peers in total (half from, half to; 100.64.0.0/10 /29s, none matching a pod);
      the last one also allows ALLOW-CIDR both ways (the pods' subnet).
  policy.py lat ADMIN-PORT METRICS-PORT OBJDIR CHANGES OUT
      Run in the node netns. CHANGES times: policy np-(k % n) gets TCP port 30000 + k instead of
      7000 + j (unique per change), POSTed through the admin interface (returns
      {"resourceVersion": N}); from the POST's return, two clocks: (a) /metrics polled every
      1 ms until weft_node_policy_resource_version >= N (the agent's own word); (b) `nft
      monitor` (a child, in this netns) printing a rule with "dport 30000+k" (the kernel's
      word: the commit's notification). Writes OUT: k post_ms metric_ms nft_ms round_ms
      (round_ms: weft_node_policy_last_round_seconds read when (a) was reached).
      Between changes a pause of 100-200 ms, so that no two changes share a round.
"""

import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

TIERS = ("frontend", "backend", "db")


def pod(i, local, n_nodes=49):
    ip = "10.128.%d.%d" % (i // 250, 1 + i % 250)
    return {"metadata": {"namespace": "ns-%d" % (i % 10), "name": "p-%05d" % i,
                         "labels": {"app": "a-%d" % (i % 50), "tier": TIERS[i % 3]}},
            "spec": {"nodeName": "node-a" if i < local else "node-%d" % (1 + i % n_nodes),
                     "containers": [{"name": "c", "ports": [
                         {"name": "web", "containerPort": 8080, "protocol": "TCP"}]}]},
            "status": {"podIP": ip, "podIPs": [{"ip": ip}]}}


def policy(j, port=None):
    frm = [{"podSelector": {"matchLabels": {"tier": "frontend"}}},
           {"namespaceSelector": {"matchLabels": {"team": "t-%d" % (j % 3)}},
            "podSelector": {"matchLabels": {"app": "a-%d" % ((j + 1) % 50)}}}]
    if j % 3 == 0:
        frm.append({"ipBlock": {"cidr": "172.16.%d.0/24" % (j % 256),
                                "except": ["172.16.%d.128/25" % (j % 256)]}})
    spec = {"podSelector": {"matchLabels": {"app": "a-%d" % (j % 50)}},
            "ingress": [{"from": frm, "ports": [
                {"protocol": "TCP", "port": port if port else 7000 + j}, {"port": "web"}]}],
            "policyTypes": ["Ingress"]}
    if j % 4 == 0:
        spec["policyTypes"].append("Egress")
        spec["egress"] = [{"to": [{"podSelector": {"matchLabels": {"tier": "db"}}}],
                           "ports": [{"protocol": "TCP", "port": 5432}]}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"namespace": "ns-%d" % (j % 10), "name": "np-%04d" % j}, "spec": spec}


def objects(d, pods, local, policies):
    ns = [{"metadata": {"name": "ns-%d" % k, "labels": {"ns": "ns-%d" % k, "team": "t-%d" % (k % 3)}}}
          for k in range(10)]
    json.dump({"items": ns}, open(os.path.join(d, "ns.json"), "w"))
    json.dump({"items": [pod(i, local) for i in range(pods)]},
              open(os.path.join(d, "pods.json"), "w"))
    json.dump({"items": [policy(j) for j in range(policies)]},
              open(os.path.join(d, "pols.json"), "w"))
    json.dump({"pods": pods, "local": local, "policies": policies},
              open(os.path.join(d, "counts.json"), "w"))


def dp_policies(path, n, blocks, allow):
    items = []
    per = blocks // n
    b = 0
    for j in range(n):
        peers = []
        for _ in range(per):
            peers.append({"ipBlock": {"cidr": "100.%d.%d.%d/29" % (64 + b // 8192, (b // 32) % 256,
                                                                  (b % 32) * 8)}})
            b += 1
        half = len(peers) // 2
        frm, to = peers[:half], peers[half:]
        if j == n - 1:
            frm = frm + [{"ipBlock": {"cidr": allow}}]
            to = to + [{"ipBlock": {"cidr": allow}}]
        items.append({"metadata": {"namespace": "dp", "name": "dp-%03d" % j},
                      "spec": {"podSelector": {"matchLabels": {"role": "sel"}},
                               "policyTypes": ["Ingress", "Egress"],
                               "ingress": [{"from": frm}], "egress": [{"to": to}]}})
    json.dump({"items": items}, open(path, "w"))


def metrics(conn):
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    body = r.read().decode()
    m = {}
    for line in body.splitlines():
        if line.startswith("weft_node_"):
            k, _, v = line.partition(" ")
            m[k[len("weft_node_"):]] = float(v)
    return m


def lat(admin, mport, objdir, changes, out):
    n = json.load(open(os.path.join(objdir, "counts.json")))["policies"]
    seen = {}  # marker -> monotonic ns of the first line holding it
    cv = threading.Condition()
    mon = subprocess.Popen(["stdbuf", "-oL", "nft", "monitor", "rules"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, bufsize=0)

    def reader():
        buf = b""
        while True:
            d = mon.stdout.read1(65536) if hasattr(mon.stdout, "read1") else os.read(
                mon.stdout.fileno(), 65536)
            if not d:
                return
            t = time.monotonic_ns()
            buf += d
            *lines, buf = buf.split(b"\n")
            with cv:
                for ln in lines:
                    i = ln.find(b"dport 3")
                    if i >= 0:
                        tok = ln[i + 6:].split(b" ")[0]
                        if tok.isdigit() and int(tok) >= 30000 and int(tok) not in seen:
                            seen[int(tok)] = t
                cv.notify_all()

    threading.Thread(target=reader, daemon=True).start()
    time.sleep(0.3)  # the monitor's socket is subscribed
    ac = http.client.HTTPConnection("127.0.0.1", admin)
    mc = http.client.HTTPConnection("127.0.0.1", mport)
    rows = []
    for k in range(1, changes + 1):
        j = k % n
        marker = 30000 + k
        body = json.dumps(policy(j, marker))
        t0 = time.monotonic_ns()
        ac.request("POST", "/objects/apis/networking.k8s.io/v1/networkpolicies", body,
                   {"Content-Type": "application/json"})
        rv = int(json.loads(ac.getresponse().read())["resourceVersion"])
        t1 = time.monotonic_ns()
        tm = None
        rnd = -1.0
        end = t1 + 10 * 10**9
        while time.monotonic_ns() < end:
            m = metrics(mc)
            if m.get("policy_resource_version", 0) >= rv:
                tm = time.monotonic_ns()
                rnd = m.get("policy_last_round_seconds", -1.0)
                break
            time.sleep(0.001)
        with cv:
            cv.wait_for(lambda: marker in seen, timeout=max(0.1, (end - time.monotonic_ns()) / 1e9))
            tn = seen.get(marker)
        rows.append("%d\t%.3f\t%s\t%s\t%.3f" % (
            k, (t1 - t0) / 1e6, "%.3f" % ((tm - t1) / 1e6) if tm else "-",
            "%.3f" % ((tn - t1) / 1e6) if tn else "-", rnd * 1000))
        time.sleep(random.uniform(0.1, 0.2))
    mon.kill()
    mon.wait()
    with open(out, "w") as f:
        f.write("\n".join(rows) + "\n")


def main():
    a = sys.argv[1:]
    if a and a[0] == "objects" and len(a) == 5:
        objects(a[1], int(a[2]), int(a[3]), int(a[4]))
    elif a and a[0] == "dp-policies" and len(a) == 5:
        dp_policies(a[1], int(a[2]), int(a[3]), a[4])
    elif a and a[0] == "lat" and len(a) == 6:
        lat(int(a[1]), int(a[2]), a[3], int(a[4]), a[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
