"""Classic, non-learned hint propagation: Levin, Lischinski & Weiss 2004, "Colorization using Optimization".

Each pixel's chroma is asked to be the weighted mean of its 3x3 neighbours', weights
exp(-(Y_r - Y_s)^2 / (0.6 var_r)) from the lightness; hinted pixels keep their colour.
One sparse linear solve per chroma channel (one factorisation for both). Used by
`colorstudio eval` as the baseline our model must beat.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def levin_weights(lum: np.ndarray) -> sp.csr_matrix:
    """(N, N) row-normalised affinity matrix W over the 8-neighbourhood, lum (H, W) in [0, 1]."""
    h, w = lum.shape
    n = h * w
    idx = np.arange(n).reshape(h, w)
    pad = np.pad(lum, 1, mode="edge")
    pidx = np.pad(idx, 1, mode="constant", constant_values=-1)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    vals = np.stack([pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets], axis=0)
    nbr = np.stack([pidx[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets], axis=0)
    valid = nbr >= 0
    window = np.concatenate([vals, lum[None]], axis=0)
    wvalid = np.concatenate([valid, np.ones((1, h, w), bool)], axis=0)
    cnt = wvalid.sum(axis=0)
    mean = (window * wvalid).sum(axis=0) / cnt
    var = (((window - mean) ** 2) * wvalid).sum(axis=0) / cnt
    d2 = (vals - lum[None]) ** 2
    csig = var * 0.6
    mgv = np.where(valid, d2, np.inf).min(axis=0)
    csig = np.maximum(csig, mgv / -math.log(0.01))
    csig = np.maximum(csig, 2e-6)
    wts = np.exp(-d2 / csig[None]) * valid
    wts = wts / np.maximum(wts.sum(axis=0, keepdims=True), 1e-12)
    rows = np.broadcast_to(idx[None], nbr.shape)[valid]
    return sp.csr_matrix((wts[valid], (rows, nbr[valid])), shape=(n, n))


def levin_colorize(lum: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Propagate hints. lum (H, W) L in [0, 100]; hint_ab (2, H, W); mask (H, W) bool.

    Returns ab (2, H, W). With no hints the result is gray (zeros).
    """
    h, w = lum.shape
    mask = mask.astype(bool)
    if not mask.any():
        return np.zeros((2, h, w), dtype=np.float32)
    n = h * w
    wmat = levin_weights(lum.astype(np.float64) / 100.0)
    free = ~mask.ravel()
    # Rows of hinted pixels become identity rows.
    wmat = sp.diags(free.astype(np.float64)) @ wmat
    a = (sp.identity(n, format="csr") - wmat).tocsc()
    solve = spla.factorized(a)
    out = np.empty((2, h, w), dtype=np.float32)
    for c in range(2):
        rhs = np.where(mask.ravel(), hint_ab[c].ravel(), 0.0)
        out[c] = solve(rhs).reshape(h, w)
    return out
