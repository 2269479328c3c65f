#!/usr/bin/python3
"""Reference values for tests/test_train_adam.c: PyTorch's AdamW on a small
quadratic, 5 steps, float32. Prints the parameters after each step."""
import torch

p = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float32, requires_grad=True)
c = torch.tensor([1.0, 3.0, 0.5, 2.0])
opt = torch.optim.AdamW([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
for step in range(5):
    opt.zero_grad()
    loss = (c * (p - 0.25) ** 2).sum()
    loss.backward()
    opt.step()
    print(", ".join("%.9ef" % v for v in p.detach().tolist()))
