#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch reference for the classifier engine (user/engine/model.h).

Builds each architecture in PyTorch exactly as the lead's specification says
(odernn, lstm-ode, lstm, odernn-emb), with its own RK4 and its own dopri5 written after
torchdiffeq's algorithm (initial step, RMS error norm, safety 0.9, ifactor
10, dfactor 0.2, quartic interpolation at the output times), and:

  golden.py make OUTDIR      writes, for real windows of the ISCX data, the
                             weights as safetensors and the inputs and the
                             float64 reference logits for both solvers as .npy
                             (tests/test_engine_golden.c compares the C engine)
  golden.py bench MODEL BATCHES RUNS
                             times the same model and weights in PyTorch, one
                             thread, float32, for each batch size in the comma
                             list BATCHES: prints "BATCH FLOWS_PER_S" lines

Only for producing reference data and comparisons: the product never runs
Python. torchdiffeq is not needed.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

# ---- the feature transform odeflow-v1 (user/engine/window_features.c) ----


def features(sizes, times):
    """sizes float32 [B,N], times float64 [B,N] -> x [B,N,5], dtau [B,N], tau [B,N] (float32)."""
    s = sizes.astype(np.float64)
    dt = np.zeros_like(times)
    dt[:, 1:] = times[:, 1:] - times[:, :-1]
    x = np.stack([s / 1500.0,
                  np.log1p(s) / math.log1p(1500.0),
                  (np.log10(dt + 1e-6) + 6.0) / 6.0,
                  (s <= 100).astype(np.float64),
                  (s >= 1400).astype(np.float64)], axis=-1)
    dtau = np.log1p(dt / 0.01) / 4.0
    tau = times - times[:, :1]
    # the engine keeps features as float32
    return x.astype(np.float32), dtau.astype(np.float32), tau.astype(np.float32)


def features_v2(sizes, times):
    """odeflow-v2 (odernn-emb): sizes float32 [B,N], times float64 [B,N] ->
    raw [B,N,3] float32, gap_bin [B,N] int, dtau [B,N] float32."""
    s = sizes.astype(np.float64)
    dt = np.zeros_like(times)
    dt[:, 1:] = times[:, 1:] - times[:, :-1]
    lg = np.log10(np.maximum(dt, 1e-6))
    raw = np.stack([s / 1500.0, np.log(np.maximum(s, 1.0)) / 7.0, lg / 6.0], axis=-1)
    gap_bin = np.minimum(((lg + 6.0) * 4.0).astype(np.int64), 31)
    dtau = np.log1p(1000.0 * dt) / 2.0
    return raw.astype(np.float32), gap_bin, dtau.astype(np.float32)

# ---- solvers ----


def rk4(f, y, dt, steps):
    """y [B,D], dt [B,1]: `steps` RK4 substeps of dt/steps."""
    h = dt / steps
    for _ in range(steps):
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


A = [[1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
     [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
     [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
     [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]]
B_ERR = [35 / 384 - 1951 / 21600, 0, 500 / 1113 - 22642 / 50085, 125 / 192 - 451 / 720,
         -2187 / 6784 + 12231 / 42400, 11 / 84 - 649 / 6300, -1 / 60]
C_MID = [6025192743 / 30085553152 / 2, 0, 51252292925 / 65400821598 / 2,
         -2691868925 / 45128329728 / 2, 187940372067 / 1594534317056 / 2,
         -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2]


def rms(v):
    return float(torch.sqrt(torch.mean(v * v)))


def dopri5(f, y0, ts, rtol, atol):
    """One window: y0 [D], ts non-decreasing floats -> [len(ts), D], as torchdiffeq's dopri5."""
    def initial_step(y, fy, order=4):
        scale = atol + torch.abs(y) * rtol
        d0, d1 = rms(y / scale), rms(fy / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        f1 = f(y + h0 * fy)
        d2 = rms((f1 - fy) / scale) / h0
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
        return min(100 * h0, h1)

    def next_step(dt, ratio):
        if ratio == 0:
            return dt * 10
        dfactor = 1.0 if ratio < 1 else 0.2
        return dt * min(10.0, max(0.9 / ratio ** (1 / 5), dfactor))

    y, fy = y0, f(y0)
    dt = initial_step(y, fy)
    t0 = t1 = ts[0]
    coeff = None
    out = [y0]
    for t in ts[1:]:
        while t > t1:
            k = [fy]
            for row in A:
                yi = y + dt * sum(a * kj for a, kj in zip(row, k))
                k.append(f(yi))
            err = dt * sum(e * kj for e, kj in zip(B_ERR, k))
            ratio = rms(err / (atol + rtol * torch.maximum(torch.abs(y), torch.abs(yi))))
            if ratio <= 1:
                mid = y + dt * sum(c * kj for c, kj in zip(C_MID, k))
                f0, f1 = k[0], k[-1]
                coeff = [y, dt * f0,
                         dt * (f1 - 4 * f0) - 11 * y - 5 * yi + 16 * mid,
                         dt * (5 * f0 - 3 * f1) + 18 * y + 14 * yi - 32 * mid,
                         2 * dt * (f1 - f0) - 8 * (yi + y) + 16 * mid]
                t0, t1, y, fy = t1, t1 + dt, yi, k[-1]
            dt = next_step(dt, ratio)
        if t1 == t0:
            out.append(y)
        else:
            x = (t - t0) / (t1 - t0)
            out.append(coeff[0] + x * (coeff[1] + x * (coeff[2] + x * (coeff[3] + x * coeff[4]))))
    return torch.stack(out)

# ---- architectures ----


def head(n_in, classes):
    return nn.Sequential(nn.Linear(n_in, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, classes))


class ODERNN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        H, M = cfg["hidden"], cfg["ode_hidden"]
        self.cfg = cfg
        self.ode = nn.Sequential(nn.Linear(H, M), nn.Tanh(), nn.Linear(M, H))
        self.gru = nn.GRUCell(5, H)
        self.head = nn.Sequential(nn.Linear(2 * H, H), nn.ReLU(), nn.Linear(H, cfg["classes"]))

    def forward(self, x, dtau, tau, solver):
        B, N, _ = x.shape
        h = x.new_zeros(B, self.cfg["hidden"])
        total = torch.zeros_like(h)
        for i in range(N):
            if i > 0:
                h = self.solve(h, dtau[:, i:i + 1], solver)
            h = self.gru(x[:, i], h)
            total = total + h
        return self.head(torch.cat([h, total / N], dim=1))

    def solve(self, h, dt, solver):
        if solver == "rk4":
            return rk4(self.ode, h, dt, self.cfg["rk4_steps"])
        rows = []
        for b in range(h.shape[0]):
            d = float(dt[b, 0])
            rows.append(h[b] if d == 0 else dopri5(self.ode, h[b], [0.0, d],
                                                   self.cfg["rtol"], self.cfg["atol"])[1])
        return torch.stack(rows)


class ODERNNEmb(ODERNN):
    """odernn-emb: the ODE-RNN over the embeddings of each packet's size
    bucket (63 edges, a buffer) and gap bin, and a linear map of 3 raw
    scalars; head Linear(2H,64)-ReLU-(dropout, training only)-Linear(64,C)."""

    def __init__(self, cfg):
        super().__init__(cfg)
        H = cfg["hidden"]
        self.gru = nn.GRUCell(32, H)
        self.register_buffer("size_edges", torch.zeros(63))
        self.size_emb = nn.Embedding(64, 16)
        self.gap_emb = nn.Embedding(32, 8)
        self.raw = nn.Linear(3, 8)
        self.head = nn.Sequential(nn.Linear(2 * H, 64), nn.ReLU(), nn.Linear(64, cfg["classes"]))

    def forward(self, sizes, raw, gap_bin, dtau, solver):
        bucket = torch.searchsorted(self.size_edges.to(sizes.dtype), sizes.contiguous(),
                                    right=True)
        x = torch.cat([self.size_emb(bucket), self.gap_emb(gap_bin), self.raw(raw)], dim=-1)
        B, N, _ = x.shape
        h = x.new_zeros(B, self.cfg["hidden"])
        total = torch.zeros_like(h)
        for i in range(N):
            if i > 0:
                h = self.solve(h, dtau[:, i:i + 1], solver)
            h = self.gru(x[:, i], h)
            total = total + h
        return self.head(torch.cat([h, total / N], dim=1))


class LSTMODE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.lstm = nn.LSTM(input_size=1, hidden_size=1, num_layers=2)
        M = cfg["ode_hidden"]
        self.ode = nn.Sequential(nn.Linear(1, M), nn.Tanh(), nn.Linear(M, 1))
        self.head = head(cfg["window"], cfg["classes"])

    def forward(self, x, dtau, tau, solver):
        # the whole sequence through the LSTM, as the notebook does; only its
        # first output starts the ODE
        out, _ = self.lstm(x[:, :, 0].t().unsqueeze(-1))
        y = out[0]                                   # [B,1]
        B, N = tau.shape
        if solver == "rk4":
            states = [y]
            for i in range(1, N):
                y = rk4(self.ode, y, tau[:, i:i + 1] - tau[:, i - 1:i], self.cfg["rk4_steps"])
                states.append(y)
            s = torch.cat(states, dim=1)
        else:
            s = torch.stack([dopri5(self.ode, y[b], [float(t) for t in tau[b]],
                                    self.cfg["rtol"], self.cfg["atol"])[:, 0] for b in range(B)])
        return self.head(s)


class LSTMBase(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.lstm = nn.LSTM(input_size=2, hidden_size=cfg["hidden"], num_layers=2)
        self.head = head(cfg["window"] * cfg["hidden"], cfg["classes"])

    def forward(self, x, dtau, tau, solver):
        inp = torch.stack([x[:, :, 0], x[:, :, 2]], dim=-1).transpose(0, 1)   # [N,B,2]
        out, _ = self.lstm(inp)
        return self.head(out.transpose(0, 1).reshape(x.shape[0], -1))


ARCHS = {"odernn": ODERNN, "lstm-ode": LSTMODE, "lstm": LSTMBase, "odernn-emb": ODERNNEmb}
TRANSFORMS = {"odernn-emb": "odeflow-v2"}
CLASSES = ["VoIP", "Video", "File_Transfer", "Chat", "Browsing"]

# ---- safetensors, written and read with struct + json ----


def save_safetensors(path, model, cfg):
    meta = {"format": "odeflow", "arch": cfg["arch"], "hidden": str(cfg["hidden"]),
            "ode_hidden": str(cfg["ode_hidden"]), "window": str(cfg["window"]),
            "solver": cfg["solver"], "rk4_steps": str(cfg["rk4_steps"]),
            "rtol": repr(cfg["rtol"]), "atol": repr(cfg["atol"]),
            "classes": json.dumps(CLASSES[:cfg["classes"]]),
            "transform": TRANSFORMS.get(cfg["arch"], "odeflow-v1"),
            "model_id": "1"}
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, t in model.state_dict().items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    cfg = {"arch": meta["arch"], "hidden": int(meta["hidden"]),
           "ode_hidden": int(meta["ode_hidden"]), "window": int(meta["window"]),
           "solver": meta["solver"], "rk4_steps": int(meta["rk4_steps"]),
           "rtol": float(meta["rtol"]), "atol": float(meta["atol"]),
           "classes": len(json.loads(meta["classes"]))}
    model = ARCHS[cfg["arch"]](cfg)
    state = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        state[name] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + e], "<f4")
                                       .reshape(h["shape"]).copy())
    model.load_state_dict(state)
    return model, cfg

# ---- commands ----


def pick_windows(x):
    """A few dozen real windows: random ones, ones with repeated timestamps
    (in float32, as a fifth of the data), and the ones spanning the longest time."""
    rng = np.random.default_rng(20)
    t32 = x[:, 1, :].astype(np.float32)
    repeated = np.where((np.diff(t32, axis=1) == 0).any(axis=1))[0]
    exact = np.where((np.diff(x[:, 1, :], axis=1) == 0).any(axis=1))[0]
    span = x[:, 1, -1] - x[:, 1, 0]
    longest = np.argsort(span)[-3:]
    idx = np.concatenate([rng.choice(len(x), 20, replace=False),
                          rng.choice(repeated, 6, replace=False),
                          exact[:2], longest])
    return np.unique(idx)


def inputs(cfg, sizes, times):
    """The model's inputs for the architecture, float64 where they are values."""
    if cfg["arch"] == "odernn-emb":
        raw, gap_bin, dtau = features_v2(sizes, times)
        return [torch.from_numpy(sizes.astype(np.float32)), torch.from_numpy(raw).double(),
                torch.from_numpy(gap_bin), torch.from_numpy(dtau).double()]
    return [torch.from_numpy(a).double() for a in features(sizes, times)]


def make(outdir):
    torch.manual_seed(20)
    x = np.load("/work/shared/data/iscx-reg-20/x_train.npy")
    idx = pick_windows(x)
    # the windows with repeated timestamps once more, their times rounded to
    # float32 as the notebook had them: there the intervals are exactly 0
    again = idx[(np.diff(x[idx, 1, :].astype(np.float32), axis=1) == 0).any(axis=1)]
    sizes = np.concatenate([x[idx, 0, :], x[again, 0, :]]).astype(np.float32)
    times = np.concatenate([x[idx, 1, :], x[again, 1, :].astype(np.float32)]).astype(np.float64)
    np.save(f"{outdir}/sizes.npy", sizes)
    np.save(f"{outdir}/times.npy", times)
    configs = [dict(arch="odernn", hidden=32, ode_hidden=32, solver="rk4"),
               dict(arch="lstm-ode", hidden=1, ode_hidden=32, solver="dopri5"),
               dict(arch="lstm", hidden=2, ode_hidden=32, solver="rk4"),
               dict(arch="odernn-emb", hidden=16, ode_hidden=12, solver="rk4")]
    for cfg in configs:
        cfg.update(window=20, rk4_steps=2, rtol=1e-7, atol=1e-9, classes=5)
        model = ARCHS[cfg["arch"]](cfg)
        if cfg["arch"] == "odernn-emb":
            # the size edges as the trainer sets them: quantiles k/64 of the
            # training sizes (here: of these windows), NumPy's interpolation
            edges = np.quantile(sizes.astype(np.float32).ravel(), np.arange(1, 64) / 64)
            model.size_edges.copy_(torch.from_numpy(edges.astype(np.float32)))
        save_safetensors(f"{outdir}/{cfg['arch']}.safetensors", model, cfg)
        # the reference runs in float64 on the float32 weights the file holds
        model = model.double()
        feats = inputs(cfg, sizes, times)
        with torch.no_grad():
            for solver in ("rk4", "dopri5"):
                logits = model(*feats, solver).numpy()
                np.save(f"{outdir}/{cfg['arch']}_{solver}_logits.npy", logits)
                print(f"{cfg['arch']} {solver}: {len(sizes)} windows, "
                      f"logits range {logits.min():.3f}..{logits.max():.3f}")
    span = times[:, -1] - times[:, 0]
    print(f"windows {len(sizes)}, with an interval of exactly 0 "
          f"{int((np.diff(times, axis=1) == 0).any(axis=1).sum())}, "
          f"longest span {span.max():.1f} s")


def bench(path, batches, runs):
    """Flows per CPU-second of this thread for the same model and weights in
    PyTorch (float32, one thread), on the same real windows as `odeflow bench`:
    prints "BATCH FLOWS_PER_S" per batch size, the median of `runs` runs."""
    torch.set_num_threads(1)
    model, cfg = load_safetensors(path)
    N = cfg["window"]
    sizes = np.load("tests/data/golden/sizes.npy")[:, :N]
    times = np.load("tests/data/golden/times.npy")[:, :N]
    for batch in batches:
        idx = np.arange(batch) % len(sizes)
        feats = [a.float() if a.is_floating_point() else a
                 for a in inputs(cfg, sizes[idx], times[idx])]
        rates = []
        with torch.no_grad():
            for _ in range(runs):
                done, start = 0, time.thread_time()
                while done < 64 or time.thread_time() - start < 0.1:
                    model(*feats, cfg["solver"])
                    done += batch
                rates.append(done / (time.thread_time() - start))
                if done / rates[-1] > 5:
                    break                   # minutes per batch size: one run is enough
        print(f"{batch} {sorted(rates)[len(rates) // 2]:.0f}", flush=True)
        if batch / rates[-1] > 5:
            break                           # larger batches would take longer still


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "bench":
        bench(sys.argv[2], [int(b) for b in sys.argv[3].split(",")], int(sys.argv[4]))
    else:
        sys.exit(__doc__)
