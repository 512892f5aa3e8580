#!/usr/bin/env python3
"""Checks deploy/weft.yaml against the code it deploys, by parsing the YAML (never by grepping).

  check-manifest.py MANIFEST BIN_DIR [--api-log FILE]

- the objects are there and refer to each other (ServiceAccount, ClusterRole, binding, ConfigMap,
  DaemonSet), the DaemonSet has what a node-critical network agent needs (hostNetwork, every taint
  tolerated, system-node-critical, RollingUpdate, no privileged container, capabilities dropped);
- every container runs a binary weft builds, and every flag it passes is one that binary lists in
  its --help; the probes ask the agent's --metrics-addr for /healthz;
- every path a binary is told to write (--bin-dir, --conf-dir, --peers-dir, --cni-conf-dir) and
  every path weft writes on its own (/run/weft, /sys/fs/bpf, /var/lib/cni) is a hostPath mount of
  that container; the peers dir at the same path as on the host (the conflist names it);
- the ConfigMap's net-conf.json is accepted by the weft-install that was built (run into temp dirs);
- with --api-log (one "METHOD PATH?QUERY" per line, the requests weft-node made to the test API
  server), each request is allowed by the ClusterRole (verb get/list/watch from the request).
Prints one line per failed check and exits 1 when there is one."""
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse

import yaml

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def objects(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def help_flags(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    return set(re.findall(r"--[a-z][a-z0-9-]*", out.stdout + out.stderr))


def flag_values(command):
    vals = {}
    for a in command[1:]:
        if a.startswith("--"):
            k, _, v = a.partition("=")
            vals[k] = v
    return vals


def mounts_of(pod, ctr):
    """container mountPath -> host path, for hostPath volumes."""
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    res = {}
    for m in ctr.get("volumeMounts", []):
        v = vols.get(m["name"])
        if check(v is not None, f"{ctr['name']}: mount {m['name']} has no volume"):
            if "hostPath" in v:
                res[m["mountPath"]] = (v["hostPath"]["path"], m.get("readOnly", False))
    return res


def covered(path, mounts, writable=True, same_path=False):
    for mp, (hp, ro) in mounts.items():
        if path == mp or path.startswith(mp.rstrip("/") + "/"):
            if writable and ro:
                return False
            return not same_path or mp == hp
    return False


def check_rbac(objs, sa_ns):
    role = objs.get(("ClusterRole", "weft"))
    binding = objs.get(("ClusterRoleBinding", "weft"))
    if not check(role and binding, "ClusterRole/ClusterRoleBinding weft missing"):
        return None
    check(binding["roleRef"]["name"] == "weft", "binding does not refer to ClusterRole weft")
    check({"kind": "ServiceAccount", "name": "weft", "namespace": sa_ns} in binding["subjects"],
          "binding does not name the ServiceAccount")
    for r in role["rules"]:
        check(set(r["verbs"]) <= {"get", "list", "watch"},
              f"ClusterRole grants more than reading: {r['verbs']}")
    return role["rules"]


def request_allowed(rules, method, url):
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qs(u.query)
    parts = [p for p in u.path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return False
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]  # namespaced resource
    resource, named = rest[0], len(rest) > 1
    if method != "GET":
        return False
    verb = "watch" if q.get("watch", ["0"])[0] in ("1", "true") else ("get" if named else "list")
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
               for r in rules)


def check_containers(pod, bindir):
    ctrs = pod.get("initContainers", []) + pod["containers"]
    for c in ctrs:
        name = c["name"]
        sc = c.get("securityContext", {})
        check(not sc.get("privileged", False), f"{name}: privileged")
        check("ALL" in sc.get("capabilities", {}).get("drop", []), f"{name}: capabilities not dropped")
        cmd = c["command"]
        binary = os.path.join(bindir, os.path.basename(cmd[0]))
        if not check(cmd[0].startswith("/weft/") and os.access(binary, os.X_OK),
                     f"{name}: {cmd[0]} is not a binary weft builds"):
            continue
        known = help_flags(binary)
        vals = flag_values(cmd)
        for k in vals:
            check(k in known, f"{name}: {os.path.basename(cmd[0])} has no flag {k}")
        m = mounts_of(pod, c)
        for k in ("--bin-dir", "--conf-dir", "--peers-dir"):
            if k in vals:
                check(covered(vals[k], m, same_path=(k == "--peers-dir")),
                      f"{name}: {k}={vals[k]} is not a writable hostPath mount"
                      + (" at the host's path" if k == "--peers-dir" else ""))
        if "--cni-conf-dir" in vals:
            check(covered(vals["--cni-conf-dir"], m, writable=False),
                  f"{name}: --cni-conf-dir is not mounted")
        if os.path.basename(cmd[0]) == "weft-node":
            for p in ("/run/weft", "/sys/fs/bpf", "/var/lib/cni/weft"):
                check(covered(p, m, same_path=True), f"{name}: {p} (weft writes it) is not mounted")
            check_probes(c, vals)
    return ctrs


def check_probes(c, vals):
    addr = vals.get("--metrics-addr", "127.0.0.1:9870")
    host, _, port = addr.rpartition(":")
    for p in ("livenessProbe", "readinessProbe"):
        g = c.get(p, {}).get("httpGet")
        if check(g, f"{c['name']}: no {p}"):
            check(g["path"] == "/healthz" and str(g["port"]) == port and
                  g.get("host", host) == host, f"{c['name']}: {p} does not ask {addr}/healthz")


def check_configmap(objs, bindir):
    cm = objs.get(("ConfigMap", "weft-config"))
    if not check(cm and "net-conf.json" in cm["data"], "ConfigMap weft-config/net-conf.json missing"):
        return
    with tempfile.TemporaryDirectory() as t:
        nc = os.path.join(t, "net-conf.json")
        with open(nc, "w") as f:
            f.write(cm["data"]["net-conf.json"])
        r = subprocess.run([os.path.join(bindir, "weft-install"), "--net-conf", nc,
                            "--node-name", "n1", "--pod-cidr", "10.244.1.0/24",
                            "--src-dir", bindir, "--bin-dir", t + "/bin", "--conf-dir", t + "/conf",
                            "--peers-dir", t + "/peers"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"weft-install refuses the ConfigMap's net-conf.json: {r.stderr}")


def main():
    manifest, bindir = sys.argv[1], sys.argv[2]
    api_log = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--api-log" else None
    objs = objects(manifest)
    sa = objs.get(("ServiceAccount", "weft"))
    check(sa, "ServiceAccount weft missing")
    rules = check_rbac(objs, sa["metadata"]["namespace"] if sa else "")
    ds = objs.get(("DaemonSet", "weft-node"))
    if check(ds, "DaemonSet weft-node missing"):
        pod = ds["spec"]["template"]["spec"]
        check(pod.get("hostNetwork") is True, "DaemonSet is not hostNetwork")
        check(pod.get("priorityClassName") == "system-node-critical", "not system-node-critical")
        check(pod.get("serviceAccountName") == "weft", "DaemonSet does not use the ServiceAccount")
        check({"operator": "Exists"} in pod.get("tolerations", []), "not every taint is tolerated")
        check(ds["spec"].get("updateStrategy", {}).get("type") == "RollingUpdate", "no RollingUpdate")
        check_containers(pod, bindir)
    check_configmap(objs, bindir)
    if api_log and rules is not None:
        with open(api_log) as f:
            reqs = [line.split() for line in f if line.strip()]
        check(reqs, "the API request log is empty")
        for method, url in reqs:
            check(request_allowed(rules, method, url), f"ClusterRole does not allow {method} {url}")
    for e in errors:
        print("manifest:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
