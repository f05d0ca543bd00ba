"""Adversarial analysis (PNAS 2020, section 4): targeted Carlini-Wagner L2, then unit changes.

:func:`carlini_wagner` attacks a batch of images towards target classes. The variable is
``w`` with ``x = (tanh(w) + 1) / 2`` (so ``x`` stays in the bounds [0, 1]); the model sees
``(x - mean) / std`` (the normalisation lives inside the attacked function). Per image it
minimises ``||x - x0||^2 + c * max(max_{i != t} Z_i - Z_t, -kappa)`` (Z the logits) with optax
Adam for a fixed number of steps, keeping the smallest-L2 iterate that the model classifies as
the target. With ``search_steps > 1``, ``c`` is set per image by a binary search (success:
upper bound; failure: lower bound, or ten times ``c`` while no upper bound is known). Every
image is independent, so the batch is split over the devices.

:func:`unit_peak_change` measures, at a layer, each unit's peak (spatial max) activation on the
original and on the adversarial images and averages the change over the successful attacks;
units are ranked by the size of the change. The paper's finding: the units most important to
the source and the target classes change the most.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdissect import sharding
from jaxdissect.interventions.accuracy import class_count, model_normalization
from jaxdissect.interventions.sweep import PlacedNet
from jaxdissect.models.base import Net, Normalization

NO_BOUND = 1e10


@dataclass(frozen=True)
class CarliniWagner:
    """Attack settings: Adam ``steps`` and ``learning_rate``; the initial constant ``c``; the
    confidence margin ``kappa``; ``search_steps`` rounds of binary search over c (1: fixed)."""

    steps: int = 100
    learning_rate: float = 0.01
    c: float = 1.0
    kappa: float = 0.0
    search_steps: int = 1


@dataclass(frozen=True)
class AttackResult:
    """``adversarial`` float32 (N, H, W, 3) in [0, 1] (the original where the attack failed);
    ``success`` (N,) bool; ``l2`` float32 (N,) perturbation norm (inf where failed); ``c``
    float32 (N,) the constant of the last round."""

    adversarial: np.ndarray
    success: np.ndarray
    l2: np.ndarray
    c: np.ndarray


def _margin(logits: jax.Array, targets: jax.Array, kappa: float) -> jax.Array:
    """max(max_{i != t} Z_i - Z_t, -kappa) per row."""
    target_logit = jnp.take_along_axis(logits, targets[:, None], axis=1)[:, 0]
    others = jnp.where(jax.nn.one_hot(targets, logits.shape[1], dtype=bool), -jnp.inf, logits)
    return jnp.maximum(others.max(axis=1) - target_logit, -kappa)


@partial(jax.jit, static_argnames=("module", "settings", "mean", "std"))
def _attack_round(params, x0, targets, c, *, module, settings: CarliniWagner, mean, std):
    """One round at fixed per-image ``c``: (best x, best squared L2 (inf: no success))."""
    norm = lambda x: (x - jnp.asarray(mean, jnp.float32)) / jnp.asarray(std, jnp.float32)

    def loss(w):
        x = (jnp.tanh(w) + 1) / 2
        logits = module.apply({"params": params}, norm(x))[0].astype(jnp.float32)
        dist = jnp.sum(jnp.square(x - x0), axis=(1, 2, 3))
        return jnp.sum(dist + c * _margin(logits, targets, settings.kappa)), (x, logits, dist)

    optimizer = optax.adam(settings.learning_rate)
    w0 = jnp.arctanh(jnp.clip(2 * x0 - 1, -1 + 1e-6, 1 - 1e-6))

    def step(carry, _):
        w, opt_state, best_x, best_dist = carry
        (_, (x, logits, dist)), grad = jax.value_and_grad(loss, has_aux=True)(w)
        better = (jnp.argmax(logits, axis=1) == targets) & (dist < best_dist)
        best_x = jnp.where(better[:, None, None, None], x, best_x)
        best_dist = jnp.where(better, dist, best_dist)
        updates, opt_state = optimizer.update(grad, opt_state, w)
        return (optax.apply_updates(w, updates), opt_state, best_x, best_dist), None

    init = (w0, optimizer.init(w0), x0, jnp.full(x0.shape[:1], jnp.inf, jnp.float32))
    (_, _, best_x, best_dist), _ = jax.lax.scan(step, init, None, length=settings.steps)
    return best_x, best_dist


def _next_constants(c, lower, upper, success):
    """Binary search on c per image (host side)."""
    upper = np.where(success, np.minimum(upper, c), upper)
    lower = np.where(success, lower, np.maximum(lower, c))
    bounded = upper < NO_BOUND / 10
    c = np.where(bounded, (lower + upper) / 2, c * 10)
    return c, lower, upper


def carlini_wagner(net: Net, images: np.ndarray, targets: np.ndarray,
                   settings: CarliniWagner = CarliniWagner(), *,
                   normalization: Normalization | None = None,
                   devices: sharding.Devices = None) -> AttackResult:
    """Targeted CW-L2 on ``images`` float (N, H, W, 3) in [0, 1] towards ``targets`` (N,) int.

    ``normalization`` (mean/std) defaults to the model's (:func:`model_normalization`).
    """
    images = np.asarray(images, np.float32)
    targets = np.asarray(targets, np.int32)
    if images.ndim != 4 or len(targets) != len(images):
        raise ValueError(f"need images (N, H, W, 3) and N targets; got {images.shape} and "
                         f"{targets.shape}")
    if images.min() < 0 or images.max() > 1:
        raise ValueError("images must lie in [0, 1] (divide uint8 images by 255)")
    if settings.search_steps < 1 or settings.steps < 1:
        raise ValueError("steps and search_steps must be at least 1")
    normalization = normalization or model_normalization(net)
    class_count(net, images.shape[1:])
    runner = PlacedNet.create(net, devices)
    n = len(images)
    c = np.full(n, settings.c, np.float32)
    lower, upper = np.zeros(n, np.float32), np.full(n, NO_BOUND, np.float32)
    best_x, best_dist = images.copy(), np.full(n, np.inf, np.float32)
    for _ in range(settings.search_steps):
        used = c
        placed = runner.place({"x": images, "t": targets, "c": c})
        x, dist = _attack_round(runner.net.params, placed["x"], placed["t"], placed["c"],
                                module=net.module, settings=settings,
                                mean=tuple(normalization.mean), std=tuple(normalization.std))
        x, dist = (np.asarray(a)[:n] for a in sharding.to_host((x, dist)))
        better = dist < best_dist
        best_x[better], best_dist[better] = x[better], dist[better]
        c, lower, upper = _next_constants(c, lower, upper, np.isfinite(dist))
    success = np.isfinite(best_dist)
    return AttackResult(best_x, success, np.sqrt(best_dist).astype(np.float32),
                        used.astype(np.float32))


def peak_activations(net: Net, layer: str, images: np.ndarray, *,
                     normalization: Normalization | None = None, batch_size: int = 64,
                     devices: sharding.Devices = None) -> np.ndarray:
    """float32 (N, U): each unit's spatial max at ``layer`` for ``images`` (N, H, W, 3) in
    [0, 1], in batches of ``batch_size``."""
    normalization = normalization or model_normalization(net)
    mean, std = np.asarray(normalization.mean, np.float32), np.asarray(normalization.std,
                                                                        np.float32)
    runner = PlacedNet.create(net, devices)
    peaks = []
    for start in range(0, len(images), batch_size):
        chunk = (np.asarray(images[start:start + batch_size], np.float32) - mean) / std
        placed = runner.place({"x": chunk})
        _, acts = runner.net(placed["x"], layers=[layer])
        peak = _spatial_max(acts[layer])
        peaks.append(np.asarray(sharding.to_host(peak), np.float32)[:len(chunk)])
    return np.concatenate(peaks)


@jax.jit
def _spatial_max(acts: jax.Array) -> jax.Array:
    return acts.max(axis=(1, 2)).astype(jnp.float32)


@dataclass(frozen=True)
class UnitChange:
    """``change`` float64 (U,): mean over the counted images of peak(adversarial) -
    peak(original); ``original`` / ``adversarial`` (U,) the mean peaks; ``ranking`` units by
    ``|change|`` descending (ties: lower unit); ``num_images`` counted."""

    change: np.ndarray
    original: np.ndarray
    adversarial: np.ndarray
    ranking: np.ndarray
    num_images: int


def unit_peak_change(original_peaks: np.ndarray, adversarial_peaks: np.ndarray,
                     counted: np.ndarray | None = None) -> UnitChange:
    """Average the per-image peak changes (N, U) over the ``counted`` images (N,) bool
    (default: all; pass ``AttackResult.success`` to count only successful attacks)."""
    original = np.asarray(original_peaks, np.float64)
    adversarial = np.asarray(adversarial_peaks, np.float64)
    if original.shape != adversarial.shape or original.ndim != 2:
        raise ValueError(f"peaks must both be (N, U); got {original.shape} and "
                         f"{adversarial.shape}")
    counted = np.ones(len(original), bool) if counted is None else np.asarray(counted, bool)
    if not counted.any():
        raise ValueError("no image to average over (did every attack fail? raise steps or c)")
    before, after = original[counted].mean(axis=0), adversarial[counted].mean(axis=0)
    change = (adversarial[counted] - original[counted]).mean(axis=0)
    return UnitChange(change, before, after, np.argsort(-np.abs(change), kind="stable"),
                      int(counted.sum()))


def adversarial_json(attack: AttackResult, change: UnitChange, layer: str, source: str,
                     target: str, unit_labels=None, top: int = 20, random_draws: int = 3,
                     seed: int = 0) -> dict:
    """A JSON-able summary: attack statistics and the ``top`` units by size of change.

    The baseline: ``random`` holds, for each of ``random_draws`` sets of as many units drawn at
    random from the layer (seeded by ``seed``), their mean absolute change, to set against
    ``top_mean_abs_change`` (that of the ``top`` units listed); ``random_units`` the sets."""
    shown = change.ranking[:top]
    rng = np.random.default_rng(seed)
    size = len(change.change)
    draws = [np.sort(rng.choice(size, len(shown), replace=False)) for _ in range(random_draws)
             ] if len(shown) else []
    baseline = {"top_mean_abs_change": float(np.abs(change.change[shown]).mean()),
                "random": [float(np.abs(change.change[d]).mean()) for d in draws],
                "random_units": [[int(u) for u in d] for d in draws]} if len(shown) else {}
    units = [{"unit": int(u), "change": float(change.change[u]),
              "original": float(change.original[u]), "adversarial": float(change.adversarial[u]),
              **({"label": unit_labels[u]} if unit_labels is not None else {})}
             for u in shown]
    finite = attack.l2[attack.success]
    return {
        "kind": "adversarial_unit_change", "layer": layer, "source": source, "target": target,
        "num_images": int(len(attack.success)), "success_rate": float(attack.success.mean()),
        "mean_l2": float(finite.mean()) if finite.size else None,
        "images_counted": change.num_images, "units": units, **baseline,
    }
