#!/usr/bin/python3
"""Generates the golden fixtures for MiBounds.Tensors.Tests (run once; the JSON files are committed).

    apt-get install -y python3-torch libopenblas0-pthread
    /usr/bin/python3 tests/MiBounds.Tensors.Tests/Golden/make_golden.py

Each fixture holds named tensors {"shape": [...], "data": [...]} (float32 values written exactly): the inputs,
an upstream gradient "g" of the output's shape, the forward output and the gradients of sum(out * g) with respect
to every input. The tests never call Python.
"""
import json, os
import torch
import torch.nn.functional as F

torch.manual_seed(20261124)
HERE = os.path.dirname(os.path.abspath(__file__))


def enc(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def case(name, fn, inputs, extra=None, meta=None):
    """inputs: dict name -> tensor; fn(**inputs) -> output tensor."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**leaves)
    g = torch.randn_like(out)
    (out * g).sum().backward()
    d = {k: enc(v) for k, v in inputs.items()}
    d["g"] = enc(g)
    d["out"] = enc(out)
    for k, v in leaves.items():
        d["grad_" + k] = enc(v.grad)
    for k, v in (extra or {}).items():
        d[k] = enc(v)
    rec = {"tensors": d}
    if meta:
        rec["meta"] = meta
    return name, rec


def write(fname, cases):
    path = os.path.join(HERE, fname)
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": dict(cases)}, f, separators=(",", ":"))
    print(path, os.path.getsize(path), "bytes")


# ---- matmul (all four transpose combinations) and a batched product ----
mm = []
a, b = torch.randn(5, 7), torch.randn(7, 4)
mm.append(case("nn", lambda a, b: a @ b, {"a": a, "b": b}))
mm.append(case("tn", lambda a, b: a.t() @ b, {"a": torch.randn(7, 5), "b": b}))
mm.append(case("nt", lambda a, b: a @ b.t(), {"a": a, "b": torch.randn(4, 7)}))
mm.append(case("tt", lambda a, b: a.t() @ b.t(), {"a": torch.randn(7, 5), "b": torch.randn(4, 7)}))
mm.append(case("batched", lambda a, b: torch.bmm(a, b), {"a": torch.randn(3, 4, 6), "b": torch.randn(3, 6, 5)}))
write("matmul.json", mm)

# ---- logsumexp over an axis (with large offsets) and over all ----
x = torch.randn(4, 6) * 3
x[1] += 80.0
x[2] -= 90.0
lse = [
    case("axis1", lambda x: torch.logsumexp(x, 1), {"x": x}),
    case("axis0", lambda x: torch.logsumexp(x, 0), {"x": x}),
    case("all", lambda x: torch.logsumexp(x.reshape(-1), 0), {"x": x}),
    case("log_softmax1", lambda x: F.log_softmax(x, 1), {"x": x}),
    case("cross_entropy", lambda x: F.cross_entropy(x, torch.tensor([5, 0, 3, 2])), {"x": x}, meta={"labels": [5, 0, 3, 2]}),
]
write("logsumexp.json", lse)

# ---- softplus over a wide range ----
x = torch.cat([torch.linspace(-40, 40, 33), torch.randn(15)])
write("softplus.json", [case("softplus", lambda x: F.softplus(x), {"x": x})])

# ---- conv2d ----
conv = []
for stride, pad in [(1, 0), (1, 1), (2, 1), (2, 0)]:
    conv.append(case(f"s{stride}p{pad}", lambda x, w, b, s=stride, p=pad: F.conv2d(x, w, b, stride=s, padding=p),
                     {"x": torch.randn(2, 3, 7, 6), "w": torch.randn(4, 3, 3, 2) * 0.5, "b": torch.randn(4)},
                     meta={"stride": stride, "padding": pad}))
write("conv2d.json", conv)

# ---- batch-norm: train ([N, C] and [N, C, H, W]) with running-stat updates, and eval ----
bn = []
for name, shape in [("train1d", (6, 3)), ("train2d", (3, 2, 4, 3))]:
    c = shape[1]
    rm, rv = torch.randn(c) * 0.1, torch.rand(c) + 0.5
    rm1, rv1 = rm.clone(), rv.clone()
    x = torch.randn(*shape) * 2 + 1
    gamma, beta = torch.randn(c), torch.randn(c)
    F.batch_norm(x, rm1, rv1, gamma, beta, training=True, momentum=0.1, eps=1e-5)
    bn.append(case(name, lambda x, gamma, beta, rm=rm.clone(), rv=rv.clone():
                   F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5),
                   {"x": x, "gamma": gamma, "beta": beta},
                   extra={"running_mean": rm, "running_var": rv, "running_mean_after": rm1, "running_var_after": rv1},
                   meta={"momentum": 0.1, "eps": 1e-5}))
rm, rv = torch.randn(2) * 0.3, torch.rand(2) + 0.5
bn.append(case("eval2d", lambda x, gamma, beta: F.batch_norm(x, rm, rv, gamma, beta, training=False, eps=1e-5),
               {"x": torch.randn(2, 2, 3, 3), "gamma": torch.randn(2), "beta": torch.randn(2)},
               extra={"running_mean": rm, "running_var": rv}, meta={"momentum": 0.1, "eps": 1e-5}))
write("batchnorm.json", bn)

# ---- a safetensors file written independently of the engine (per the format spec, with struct + json) ----
import struct


def write_safetensors(path, tensors, metadata):
    """tensors: name -> (dtype, shape, raw bytes). Data laid out in name order, header padded with spaces to 8 bytes."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print(path, os.path.getsize(path), "bytes")


w = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4
write_safetensors(os.path.join(HERE, "sample.safetensors"), {
    "layer.weight": ("F32", [2, 3], w.numpy().tobytes()),
    "layer.bias": ("F64", [2], torch.tensor([1.5, -2.25], dtype=torch.float64).numpy().tobytes()),
    "half": ("F16", [3], torch.tensor([0.5, -1.0, 65504.0], dtype=torch.float16).numpy().tobytes()),
    "bf": ("BF16", [2], torch.tensor([3.0, -0.15625], dtype=torch.bfloat16).view(torch.int16).numpy().tobytes()),
    "scalar": ("F32", [], struct.pack("<f", 7.0)),
}, {"format": "pt", "note": "written by make_golden.py"})
