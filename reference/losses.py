"""Losses of the training methods (docs/semantics.md#losses), written with reference.autodiff operations so the
same code gives values on arrays and exact gradients on dual numbers.

* TET (Deng et al., 2022): ``(1 - λ)·mean_t CE(O_t, y) + λ·mean_t MSE(O_t, φ)``.
* TCL / STCL, **our definition** (the exact loss is not published): the per-time-step
  representations ``z_t`` (L2-normalised) are views of a sample; the supervised contrastive
  loss (temperature τ) takes as positives of an anchor every other view with the same label (any
  time step, any sample); it averages over anchors that have a positive. TCL: views = T;
  STCL adds a second augmented view of each sample, so views = 2T.
"""

from reference import autodiff as ad


def _sum(values):
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def cross_entropy(logits, label):
    """-log softmax(logits)[label] for one sample (logits: a length-C vector)."""
    classes = len(ad.value_of(logits))
    return ad.log(_sum([ad.exp(logits[c]) for c in range(classes)])) - logits[label]


def tet_loss(outputs, labels, lamb=0.05, means=1.0):
    """outputs [T, N, C], labels [N]."""
    steps, batch, classes = ad.value_of(outputs).shape
    ce = _sum([cross_entropy(outputs[t, n], labels[n]) for t in range(steps) for n in range(batch)]) / (steps * batch)
    mse = _sum([(outputs[t, n, c] - means) ** 2 for t in range(steps) for n in range(batch) for c in range(classes)])
    return (1 - lamb) * ce + lamb * mse / (steps * batch * classes)


def supervised_contrastive(views, labels, temperature=0.07):
    """views [V, N, D] (each z L2-normalised here), labels [N]."""
    count, batch, dim = ad.value_of(views).shape
    z = []
    for v in range(count):
        for n in range(batch):
            norm = _sum([views[v, n, d] ** 2 for d in range(dim)]) ** 0.5
            z.append(([views[v, n, d] / norm for d in range(dim)], labels[n]))
    anchors = []
    for i, (zi, yi) in enumerate(z):
        sims = {j: _sum([zi[d] * zj[d] for d in range(dim)]) / temperature for j, (zj, _) in enumerate(z) if j != i}
        positives = [j for j, (_, yj) in enumerate(z) if j != i and yj == yi]
        if not positives:
            continue
        log_denominator = ad.log(_sum([ad.exp(s) for s in sims.values()]))
        anchors.append(_sum([log_denominator - sims[p] for p in positives]) / len(positives))
    return _sum(anchors) / len(anchors) if anchors else views[0, 0, 0] * 0.0  # no positives: 0


def tcl_loss(z_seq, labels, temperature=0.07):
    """z_seq [T, N, D]: the T time steps are the views."""
    return supervised_contrastive(z_seq, labels, temperature)


def stcl_loss(z_seq_a, z_seq_b, labels, temperature=0.07):
    """Two augmented views, each [T, N, D]: 2T views."""
    return supervised_contrastive(ad.stack([z_seq_a[t] for t in range(len(ad.value_of(z_seq_a)))]
                                            + [z_seq_b[t] for t in range(len(ad.value_of(z_seq_b)))]),
                                  labels, temperature)
