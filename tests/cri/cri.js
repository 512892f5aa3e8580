#!/usr/bin/env node
// A small CRI client for weft's tests: the calls a kubelet makes to run and stop pod sandboxes,
// sent to containerd's CRI gRPC socket (runtime.v1, the messages in cri.proto).
//
//   cri.js SOCK version
//   cri.js SOCK run NAME [--port HOST:CONTAINER]... [--annotation K=V]...  -> sandbox id
//   cri.js SOCK status ID                             -> {"id","state","ip","ips","netns"}
//   cri.js SOCK exec-bg ID NAME CMD...                -> container id (create + start)
//   cri.js SOCK stop ID | rm ID | list
//   cri.js SOCK many N [--workers W]                  -> [{"id","name","ip"}] (N at once)
//   cri.js SOCK churn WORKERS ROUNDS [--ipam-dir D]   -> run, status, stop, remove in loops; with
//                                                      D, each reservation D/<ip> must name its sandbox
//   cri.js SOCK bench REPS [--warmup W] [--handlers A,B]
//                                     -> per rep and handler: RunPodSandbox and StopPodSandbox ms
//                                        (handlers interleaved, who goes first alternating)
//   --handler H (run, many): the runtime handler (containerd: a runtime with its own CNI conf)
//
// Every failure prints the gRPC status and message on stderr and exits 1.
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const def = loader.loadSync(path.join(__dirname, 'cri.proto'), {
  keepCase: false, longs: Number, enums: String, defaults: true,
});
const api = grpc.loadPackageDefinition(def).runtime.v1;

function client(sock) {
  const c = new api.RuntimeService('unix://' + sock, grpc.credentials.createInsecure());
  const call = (method, req) => new Promise((resolve, reject) => {
    c[method](req, { deadline: Date.now() + 120000 }, (err, res) => {
      if (err) reject(new Error(`${method}: ${err.details || err.message} (code ${err.code})`));
      else resolve(res);
    });
  });
  return call;
}

function sandboxConfig(name, ports, annotations = {}) {
  return {
    metadata: { name, uid: `uid-${name}`, namespace: 'weft-test', attempt: 0 },
    hostname: name,
    logDirectory: process.env.CRI_LOG_DIR ? path.join(process.env.CRI_LOG_DIR, name) : '',
    portMappings: ports.map((p) => {
      const [host, ctr] = p.split(':').map(Number);
      return { protocol: 'TCP', hostPort: host, containerPort: ctr };
    }),
    labels: { app: name },
    annotations,
    linux: { cgroupParent: process.env.CRI_CGROUP_PARENT || '' },
  };
}

async function status(call, id) {
  const r = await call('PodSandboxStatus', { podSandboxId: id, verbose: true });
  const net = r.status.network || {};
  let netns = '';
  try {
    const info = JSON.parse(r.info.info || '{}');
    const ns = (((info.runtimeSpec || {}).linux || {}).namespaces || []).find((n) => n.type === 'network');
    netns = ns ? ns.path : '';
  } catch (e) { /* the verbose info is optional */ }
  const ips = [net.ip, ...(net.additionalIps || []).map((p) => p.ip)].filter(Boolean);
  return { id, name: r.status.metadata.name, state: r.status.state, ip: net.ip || '', ips, netns };
}

async function run(call, name, ports, annotations, handler = '') {
  const r = await call('RunPodSandbox', {
    config: sandboxConfig(name, ports, annotations), runtimeHandler: handler,
  });
  return r.podSandboxId;
}

async function remove(call, id) {
  await call('StopPodSandbox', { podSandboxId: id });
  await call('RemovePodSandbox', { podSandboxId: id });
}

async function execBg(call, id, name, cmd) {
  const st = await status(call, id);
  const config = {
    metadata: { name, attempt: 0 },
    image: { image: 'localhost/weft-test/busybox:1' },
    command: cmd,
    logPath: `${name}.log`,
  };
  const r = await call('CreateContainer', { podSandboxId: id, config, sandboxConfig: sandboxConfig(st.name, []) });
  await call('StartContainer', { containerId: r.containerId });
  return r.containerId;
}

async function pool(n, workers, fn) {
  const out = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, n) }, worker));
  return out;
}

async function many(call, n, workers, prefix) {
  return pool(n, workers, async (i) => {
    const id = await run(call, `${prefix}${i}`, []);
    const st = await status(call, id);
    return { id, name: st.name, ip: st.ip };
  });
}

// Each worker repeats: run a sandbox, read its IP, stop and remove it. An IP seen by two live
// sandboxes at once is a failure.
function owner(ipamDir, ip) {
  try {
    return fs.readFileSync(path.join(ipamDir, ip), 'utf8').split(/\r?\n/)[0];
  } catch (e) {
    return `(no reservation: ${e.code})`;
  }
}

async function churn(call, workers, rounds, ipamDir) {
  const live = new Map();
  const seen = [];
  await pool(workers, workers, async (w) => {
    for (let r = 0; r < rounds; r++) {
      const id = await run(call, `churn-${w}-${r}`, []);
      const st = await status(call, id);
      if (!st.ip) throw new Error(`sandbox ${id} has no IP`);
      if (live.has(st.ip)) throw new Error(`IP ${st.ip} given to ${id} while ${live.get(st.ip)} holds it`);
      live.set(st.ip, id);
      if (ipamDir && owner(ipamDir, st.ip) !== id) {
        throw new Error(`reservation ${st.ip} names ${owner(ipamDir, st.ip)}, not sandbox ${id}`);
      }
      seen.push({ id, ip: st.ip });
      live.delete(st.ip);
      await remove(call, id);
    }
  });
  return { sandboxes: seen.length, distinctIps: new Set(seen.map((s) => s.ip)).size };
}

async function benchOne(call, name, handler) {
  const t0 = process.hrtime.bigint();
  const id = await run(call, name, [], {}, handler);
  const t1 = process.hrtime.bigint();
  await call('StopPodSandbox', { podSandboxId: id });
  const t2 = process.hrtime.bigint();
  await call('RemovePodSandbox', { podSandboxId: id });
  return { run_ms: Number(t1 - t0) / 1e6, stop_ms: Number(t2 - t1) / 1e6 };
}

async function bench(call, reps, warmup, handlers) {
  const rows = [];
  for (let i = 0; i < warmup + reps; i++) {
    const order = handlers.map((_, k) => handlers[(k + i) % handlers.length]);
    for (const h of order) {
      const r = await benchOne(call, `bench-${h || 'default'}-${i}`, h);
      if (i >= warmup) rows.push({ handler: h, rep: i - warmup, ...r });
    }
  }
  return rows;
}

function flag(args, name, dflt) {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

async function main(argv) {
  const [sock, cmd, ...args] = argv;
  if (!sock || !cmd) throw new Error('usage: cri.js SOCK COMMAND ... (see the head of cri.js)');
  const call = client(sock);
  const print = (v) => process.stdout.write((typeof v === 'string' ? v : JSON.stringify(v)) + '\n');
  const ports = [];
  for (let p; (p = flag(args, '--port')) !== undefined;) ports.push(p);
  const annotations = {};
  for (let a; (a = flag(args, '--annotation')) !== undefined;) {
    const eq = a.indexOf('=');
    annotations[a.slice(0, eq)] = a.slice(eq + 1);
  }
  switch (cmd) {
    case 'version': return print(await call('Version', { version: 'v1' }));
    case 'run': return print(await run(call, args[0], ports, annotations, flag(args, '--handler', '')));
    case 'status': return print(await status(call, args[0]));
    case 'exec-bg': return print(await execBg(call, args[0], args[1], args.slice(2)));
    case 'stop': return call('StopPodSandbox', { podSandboxId: args[0] });
    case 'rm': return call('RemovePodSandbox', { podSandboxId: args[0] });
    case 'list': return print((await call('ListPodSandbox', {})).items.map((s) => ({ id: s.id, name: s.metadata.name, state: s.state })));
    case 'many': {
      const workers = Number(flag(args, '--workers', '20'));
      return print(await many(call, Number(args[0]), workers, flag(args, '--prefix', 'pod-')));
    }
    case 'churn': {
      const ipamDir = flag(args, '--ipam-dir', '');
      return print(await churn(call, Number(args[0]), Number(args[1]), ipamDir));
    }
    case 'bench': {
      const warmup = Number(flag(args, '--warmup', '2'));
      const handlers = flag(args, '--handlers', '').split(',');
      return print(await bench(call, Number(args[0]), warmup, handlers));
    }
    default: throw new Error(`unknown command ${cmd}`);
  }
}

main(process.argv.slice(2)).then(() => process.exit(0), (e) => {
  process.stderr.write(`cri.js: ${e.message}\n`);
  process.exit(1);
});
