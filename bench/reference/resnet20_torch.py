#!/usr/bin/env python3
"""PyTorch reference for `mixprec bench --suite train`: one training step (forward, backward, SGD with momentum) of
ResNet-20 on CIFAR-shaped random data, float and naive U3 quantization-aware training (weights and activations
quantized with learnable step d and range qmax, straight-through rounding, as a typical PyTorch user would write it).

Prints one JSON object per line: {"quantization", "batch", "medianMs", "imagesPerSecond", "device", "threads", "torch"}.
Usage: resnet20_torch.py --batch 32 128 --quant float U3 [--device cpu|cuda] [--budget-s 20] [--threads N]

With --serve it instead answers rounds on demand, so the caller can interleave them with its own (the machine's speed
drifts over minutes; alternating rounds gives both sides the same conditions): each stdin line
{"quantization": "U3", "batch": 128, "steps": 3} is answered by one stdout line {"samplesMs": [...], ...}. A model is
built and warmed up (2 steps) the first time its (quantization, batch) is asked for. EOF ends the process.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def pow2_ste(v):
    """2^round(log2 v) forward, identity-scaled gradient (the code's quantize_pow2 with STE)."""
    p = torch.pow(2.0, torch.round(torch.log2(v)))
    return v + (p - v).detach()


def round_ste(z):
    return z + (torch.sign(z) * torch.floor(torch.abs(z) + 0.5) - z).detach()


class U3(nn.Module):
    """Uniform quantizer parametrized by step d and range qmax (signed for weights, unsigned for activations)."""

    def __init__(self, d, xmax, signed):
        super().__init__()
        self.d = nn.Parameter(torch.tensor(float(d)))
        self.xmax = nn.Parameter(torch.tensor(float(xmax)))
        self.signed = signed

    def forward(self, x):
        d = pow2_ste(self.d.clamp(2 ** -8, 1.0))
        xmax = self.xmax.clamp(2 ** -8, 255.0)
        lo = -xmax if self.signed else torch.zeros_like(xmax)
        c = torch.minimum(torch.maximum(x, lo), xmax)
        return d * round_ste(c / d)


class QConv(nn.Conv2d):
    def __init__(self, cin, cout, k, stride, quant):
        super().__init__(cin, cout, k, stride, padding=k // 2, bias=False)
        self.q = U3(2 ** -3, 7 * 2 ** -3, True) if quant else None

    def forward(self, x):
        w = self.q(self.weight) if self.q is not None else self.weight
        return F.conv2d(x, w, None, self.stride, self.padding)


def act(quant):
    return U3(2 ** -3, 15 * 2 ** -3, False) if quant else nn.ReLU()


class Block(nn.Module):
    def __init__(self, cin, cout, stride, quant):
        super().__init__()
        self.c1, self.b1, self.a1 = QConv(cin, cout, 3, stride, quant), nn.BatchNorm2d(cout), act(quant)
        self.c2, self.b2, self.a2 = QConv(cout, cout, 3, 1, quant), nn.BatchNorm2d(cout), act(quant)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(QConv(cin, cout, 1, stride, quant), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.a1(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return self.a2(y + (self.short(x) if self.short is not None else x))


class ResNet20(nn.Module):
    def __init__(self, quant):
        super().__init__()
        self.stem, self.bn, self.act = QConv(3, 16, 3, 1, quant), nn.BatchNorm2d(16), act(quant)
        layers, cin = [], 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(3):
                layers.append(Block(cin, cout, stride if i == 0 else 1, quant))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, 10)
        self.fq = U3(2 ** -3, 7 * 2 ** -3, True) if quant else None

    def forward(self, x):
        h = self.layers(self.act(self.bn(self.stem(x))))
        h = h.mean((2, 3))
        w = self.fq(self.fc.weight) if self.fq is not None else self.fc.weight
        return F.linear(h, w, self.fc.bias)


def make_step(quant, batch, device):
    """A closure running one training step of a fresh, warmed-up model (2 steps) on one fixed random batch."""
    torch.manual_seed(313)
    model = ResNet20(quant == "U3").to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=2e-4)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(2):
        step()
    return step


def timed(step):
    t = time.perf_counter()
    step()
    return (time.perf_counter() - t) * 1000


def bench(quant, batch, device, budget_s):
    step = make_step(quant, batch, device)
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget_s and len(times) < 200):
        times.append(timed(step))
    ms = statistics.median(times)
    return {"quantization": quant, "batch": batch, "medianMs": ms, "imagesPerSecond": batch / (ms / 1000), "iterations": len(times),
            **about(device)}


def about(device):
    return {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "threads": torch.get_num_threads(), "torch": torch.__version__}


def serve(device):
    steps = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        quant, batch, n = req["quantization"], int(req["batch"]), int(req["steps"])
        if quant not in ("float", "U3") or batch < 1 or n < 1:
            sys.exit(f"resnet20_torch.py --serve: bad request {line.strip()!r} (quantization float or U3, batch and steps >= 1)")
        key = (quant, batch)
        if key not in steps:
            steps[key] = make_step(quant, batch, device)
        print(json.dumps({"quantization": quant, "batch": batch, "samplesMs": [timed(steps[key]) for _ in range(n)], **about(device)}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    p.add_argument("--quant", nargs="+", default=["float", "U3"], choices=["float", "U3"])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--budget-s", type=float, default=20)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="intra-op threads (default: every CPU this process may use; PyTorch's own default can be fewer)")
    p.add_argument("--serve", action="store_true", help="answer timing rounds requested on stdin (see the module doc)")
    a = p.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("resnet20_torch.py: CUDA is not available to this PyTorch")
    torch.set_num_threads(a.threads)
    if a.serve:
        serve(a.device)
        return
    for batch in a.batch:
        for quant in a.quant:
            print(json.dumps(bench(quant, batch, a.device, a.budget_s)), flush=True)


if __name__ == "__main__":
    main()
