#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Which score tells a window the model should not name: the study behind
the Unknown score of user/engine/unknown.c (models/README.md, "Unknown").

  unknown_study.py ISCX_DIR WORK [ODEFLOW] [NDPI_PREFIX...]

ISCX_DIR holds x_train.npy and y_train.npy (iscx-reg-20); WORK caches the
datasets and models it makes (the default recipe, `odeflow train`, takes
minutes each); NDPI_PREFIX: datasets of real captures labelled by nDPI
(`odeflow pcap2npy --label-ndpi [--first-only]`), judged by the model
trained on the same ISCX windows.

Two proxies for applications a model never saw, until the lab's exist:
  * a class held out: blocked fold 1 of 5 (block 1 of each class held out);
    for each class, a model trained on the other blocks of the other four
    classes, scored on the held-out blocks of all five: the held-out class
    should be Unknown, the others named;
  * the nDPI-labelled windows of today's applications, scored by the model
    trained on the other blocks of all five classes: the windows it gets
    wrong should be Unknown.
Each candidate score comes from what `odeflow eval --states` writes (each
member's raw logits and hidden state) and the training windows' states.
Prints markdown. Only numpy; the product never runs Python.
"""
import json
import os
import subprocess
import sys

import numpy as np

NAMES = ["VoIP", "Video", "File_Transfer", "Chat", "Browsing"]
SHRINK = 1e-3  # as UNKNOWN_SHRINK in user/engine/arch.h


def log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def logsumexp(x):
    m = x.max(-1)
    return m + np.log(np.exp(x - m[..., None]).sum(-1))


class Gaussians:
    """Per member: class means and their shared covariance (classes=True),
    or one mean and covariance of all states."""

    def __init__(self, states, y, classes, C):
        self.mu, self.prec = [], []
        for s in states:
            if classes:
                mu = np.stack([s[y == c].mean(0) if (y == c).any() else np.full(s.shape[1], 1e9)
                               for c in range(C)])
                z = s - mu[y]
            else:
                mu = s.mean(0)[None]
                z = s - mu
            cov = z.T @ z / len(z)
            cov += (SHRINK * np.trace(cov) / len(cov) + 1e-12) * np.eye(len(cov))
            self.mu.append(mu)
            self.prec.append(np.linalg.inv(cov))

    def dist(self, states):  # [members, n, classes]
        return np.stack([np.einsum('ncd,de,nce->nc', s[:, None] - mu[None], p, s[:, None] - mu[None])
                         for s, mu, p in zip(states, self.mu, self.prec)])


def scores(logits, states, fit):
    """Every candidate, higher = less like the training windows."""
    lp = log_softmax(log_softmax(logits).mean(0))
    pk = np.exp(log_softmax(logits))
    pred = lp.argmax(1)
    d = fit['classes'].dist(states)
    d_pred = np.take_along_axis(d, pred[None, :, None].repeat(len(d), 0), -1)[..., 0]
    s = {
        'confidence (max probability)': -np.exp(lp).max(1),
        'entropy': -(np.exp(lp) * lp).sum(1),
        'max logit': -logits.max(-1).mean(0),
        'energy': -logsumexp(logits).mean(0),
        'members\' disagreement (mean KL to the ensemble)':
            (pk * (np.log(pk + 1e-12) - lp[None])).sum(-1).mean(0),
        'Mahalanobis, nearest class': d.min(-1).mean(0),
        'Mahalanobis, named class (shipped)': d_pred.mean(0),
        'Mahalanobis, named class minus all states\'': (d_pred - fit['all'].dist(states)[..., 0]).mean(0),
    }
    return s, pred


def auroc(score, positive):
    pos, neg = score[positive], score[~positive]
    if not len(pos) or not len(neg):
        return float('nan')
    order = np.argsort(np.concatenate([pos, neg]), kind='mergesort')
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    allv = np.concatenate([pos, neg])
    _, inv, cnt = np.unique(allv, return_inverse=True, return_counts=True)
    sums = np.zeros(len(cnt))
    np.add.at(sums, inv, ranks)
    ranks = (sums / cnt)[inv]
    return (ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def save(prefix, x, y, classes):
    np.save(prefix + '_x.npy', x.astype(np.float64))
    np.save(prefix + '_y.npy', y.astype(np.float64))
    with open(prefix + '_dataset.json', 'w') as f:
        json.dump({"classes": classes, "window_start": "any", "window": x.shape[2]}, f)


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def model_of(odeflow, work, name):
    path = f'{work}/{name}.safetensors'
    if not os.path.exists(path):
        run([odeflow, 'train', '--data', f'{work}/{name}', '--quiet', '--out', path])
    return path


def states_of(odeflow, model, data, prefix):
    if not os.path.exists(prefix + '_states.npy'):
        run([odeflow, 'eval', '--model', model, '--data', data, '--states', prefix])
    return (np.load(prefix + '_logits.npy'), np.load(prefix + '_states.npy'),
            np.load(prefix + '_y.npy').astype(int))


def fitted(odeflow, model, work, name, C):
    logits, states, y = states_of(odeflow, model, f'{work}/{name}', f'{work}/{name}_on_train')
    return {'classes': Gaussians(states, y, True, C), 'all': Gaussians(states, y, False, C)}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    iscx, work = sys.argv[1], sys.argv[2]
    odeflow = sys.argv[3] if len(sys.argv) > 3 else 'build/odeflow'
    ndpi = sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    x, y = np.load(f'{iscx}/x_train.npy'), np.load(f'{iscx}/y_train.npy').astype(int)
    block = np.zeros(len(y), int)
    for c in range(5):
        idx = np.where(y == c)[0]
        block[idx] = np.arange(len(idx)) * 5 // len(idx)
    train, test = block != 0, block == 0
    save(f'{work}/test', x[test], y[test], NAMES)
    save(f'{work}/all', x[train], y[train], NAMES)
    for h in range(5):
        keep = train & (y != h)
        rest = [c for c in range(5) if c != h]
        save(f'{work}/no{h}', x[keep], np.array([rest.index(c) for c in y[keep]]),
             [NAMES[c] for c in rest])
        # the held-out class's windows need some label of the four; the study
        # reads the true ones from y
        save(f'{work}/test_no{h}', x[test], np.array([rest.index(c) if c != h else 0
                                                      for c in y[test]]), [NAMES[c] for c in rest])

    print('### A class held out (ISCX blocked fold 1)\n')
    print('AUROC of each score: the held-out class\'s windows against the others; the wrong '
          'or held-out against the right. Then, at the threshold that names 95% (90%) of the '
          'known classes\' held-out windows: the share of the held-out class named and the '
          'accuracy of all windows named. Mean over the five held-out classes.\n')
    print('| score | AUROC, held-out class | AUROC, wrong | held-out class named at 95% | '
          'accuracy named at 95% | held-out class named at 90% | accuracy named at 90% |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    table = {}
    for h in range(5):
        model = model_of(odeflow, work, f'no{h}')
        fit = fitted(odeflow, model, work, f'no{h}', 4)
        logits, states, _ = states_of(odeflow, model, f'{work}/test_no{h}',
                                      f'{work}/no{h}_on_test')
        yt = y[test]
        s, pred = scores(logits, states, fit)
        named_as = np.array([c for c in range(5) if c != h])[pred]
        unknown = yt == h
        right = (named_as == yt) & ~unknown
        for k, v in s.items():
            row = [auroc(v, unknown), auroc(v, ~right)]
            for keep in (0.95, 0.90):
                named = v <= np.quantile(v[~unknown], keep)
                row += [named[unknown].mean(), right[named].mean()]
            table.setdefault(k, []).append(row)
    for k, rows in table.items():
        m = np.mean(rows, 0)
        print(f'| {k} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.1%} | {m[3]:.1%} | {m[4]:.1%} | '
              f'{m[5]:.1%} |')

    model = model_of(odeflow, work, 'all')
    fit = fitted(odeflow, model, work, 'all', 5)
    logits, states, yt = states_of(odeflow, model, f'{work}/test', f'{work}/all_on_test')
    iscx_s, _ = scores(logits, states, fit)
    for prefix in ndpi:
        name = os.path.basename(prefix)
        logits, states, yn = states_of(odeflow, model, prefix, f'{work}/{name}')
        s, pred = scores(logits, states, fit)
        right = pred == yn
        print(f'\n### {name}: {len(yn)} windows labelled by nDPI, {right.mean():.1%} right\n')
        print('AUROC of each score, the wrong against the right; then, at the threshold that '
              'names 95% (90%) of the ISCX held-out windows: the share of these windows named '
              'and the accuracy of those named.\n')
        print('| score | AUROC, wrong | named at 95% | accuracy named | named at 90% | '
              'accuracy named |')
        print('| --- | ---: | ---: | ---: | ---: | ---: |')
        for k, v in s.items():
            row = [auroc(v, ~right)]
            for keep in (0.95, 0.90):
                named = v <= np.quantile(iscx_s[k], keep)
                row += [named.mean(), right[named].mean() if named.any() else float('nan')]
            print(f'| {k} | {row[0]:.3f} | {row[1]:.1%} | {row[2]:.1%} | {row[3]:.1%} | '
                  f'{row[4]:.1%} |')


if __name__ == '__main__':
    main()
