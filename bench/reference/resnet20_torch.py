#!/usr/bin/env python3
"""PyTorch reference for `mixprec bench --suite train`: one training step (forward, backward, SGD with momentum) of
ResNet-20 on CIFAR-shaped random data, float and naive U3 quantization-aware training (weights and activations
quantized with learnable step d and range qmax, straight-through rounding, as a typical PyTorch user would write it).

Prints one JSON object per line: {"quantization", "batch", "medianMs", "imagesPerSecond", "device", "threads", "torch"}.
Usage: resnet20_torch.py --batch 32 128 --quant float U3 [--device cpu|cuda] [--budget-s 20]
"""
import argparse
import json
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


def bench(quant, batch, device, budget_s):
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
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget_s and len(times) < 200):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    ms = statistics.median(times)
    return {"quantization": quant, "batch": batch, "medianMs": ms, "imagesPerSecond": batch / (ms / 1000), "iterations": len(times),
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "threads": torch.get_num_threads(), "torch": torch.__version__}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    p.add_argument("--quant", nargs="+", default=["float", "U3"], choices=["float", "U3"])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--budget-s", type=float, default=20)
    a = p.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("resnet20_torch.py: CUDA is not available to this PyTorch")
    for batch in a.batch:
        for quant in a.quant:
            print(json.dumps(bench(quant, batch, a.device, a.budget_s)), flush=True)


if __name__ == "__main__":
    main()
