"""What the world models' trainings share: a batch stream, the optimiser loop, timing.

Training data is drawn fresh from the world (image ``i`` of seed ``TRAIN_SEED``, images taken in
order), so no image is seen twice and a run is reproducible from its step count and batch size.
Held-out evaluations use :data:`HELD_OUT_SEED`, whose images never appear in training.

The loop is a plain jitted Adam step (warm-up then cosine decay) on one device; the next batch
is drawn on a background thread while the current step runs. Optionally it keeps an exponential
moving average of the parameters (what a GAN's generator is evaluated and shipped with).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdissect.world.source import WorldConfig, render_world

TRAIN_SEED = 0
HELD_OUT_SEED = 1
TEST_SEED = 2  # a second held-out set, used by the tests


def world_stream(config: WorldConfig, batch_size: int, start: int = 0) -> Iterator[dict]:
    """Endless batches of consecutive world images from ``start``, drawn one batch ahead."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        nxt = pool.submit(render_world, config, np.arange(start, start + batch_size))
        while True:
            batch = nxt.result()
            start += batch_size
            nxt = pool.submit(render_world, config, np.arange(start, start + batch_size))
            yield batch


@dataclass
class FitReport:
    """Losses logged during a fit (step, loss) and the wall time in seconds."""

    losses: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    average: Any = None  # the moving average of the parameters, when ``fit`` kept one

    def record(self, settings) -> dict:
        """The ``training`` entry of a world model's meta.json: its settings (a dataclass),
        the training seed, the wall time and the last logged loss."""
        return {**asdict(settings), "train_seed": TRAIN_SEED, "seconds": self.seconds,
                "final_loss": self.losses[-1][1]}


def fit(
    loss_fn: Callable,
    params,
    batches: Iterator,
    steps: int,
    learning_rate: float,
    log: Callable[[str], None] | None = print,
    log_every: int = 50,
    betas: tuple[float, float] = (0.9, 0.999),
    average: float | None = None,
):
    """Minimise ``loss_fn(params, batch) -> scalar`` for ``steps`` Adam steps.

    Returns ``(params, FitReport)``. ``batches`` yields whatever ``loss_fn`` consumes.
    ``betas``: Adam's moment decays. ``average``: the decay of a moving average of the
    parameters kept in ``report.average`` (ramped up as ``min(average, (1 + t) / (10 + t))``
    at step ``t``, so the starting point is soon forgotten).
    """
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, learning_rate, min(100, steps // 10 + 1), steps, learning_rate * 0.02)
    tx = optax.adam(schedule, b1=betas[0], b2=betas[1])
    opt_state = tx.init(params)
    mean_params = params if average is not None else None

    @jax.jit
    def step(params, opt_state, mean_params, t, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        if average is not None:
            decay = jnp.minimum(average, (1.0 + t) / (10.0 + t))
            mean_params = jax.tree.map(lambda m, p: decay * m + (1.0 - decay) * p,
                                       mean_params, params)
        return params, opt_state, mean_params, loss

    report = FitReport()
    start = time.perf_counter()
    running = []
    for i in range(1, steps + 1):
        params, opt_state, mean_params, loss = step(params, opt_state, mean_params, i,
                                                    next(batches))
        running.append(loss)
        if i % log_every == 0 or i == steps:
            mean = float(np.mean(jax.device_get(running)))
            running = []
            report.losses.append((i, mean))
            if log:
                log(f"step {i}/{steps} loss {mean:.4f} ({time.perf_counter() - start:.0f} s)")
    report.seconds = time.perf_counter() - start
    report.average = mean_params
    return params, report
