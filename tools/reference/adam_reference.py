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

# One-cycle (tests/test_train_adam.c test_one_cycle): PyTorch's OneCycleLR over
# 110 steps, peak 0.01, 30% rising, ending at 1e-4; the learning rate and
# AdamW's beta1 each step uses.
opt = torch.optim.AdamW([p], lr=0.01)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=110, pct_start=0.3,
                                            div_factor=25, final_div_factor=0.01 / 25 / 1e-4)
for step in range(110):
    if step in (0, 1, 16, 32, 33, 60, 109):
        group = opt.param_groups[0]
        print("{ %d, %.12e, %.12e }," % (step, group["lr"], group["betas"][0]))
    opt.step()
    sched.step()
