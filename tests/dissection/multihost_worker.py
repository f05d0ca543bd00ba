"""One process of the two-process dissection: ``python multihost_worker.py PORT ID OUT``."""

import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402

jax.config.update("jax_cpu_collectives_implementation", "gloo")


def main(port: str, process_id: str, out: str) -> None:
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=int(process_id))
    import multihost_case as case
    import numpy as np

    from jaxdissect.dissection.driver import dissect

    assert jax.device_count() == 8 and jax.local_device_count() == 4
    results = dissect(case.model_fn(), case.local_batches(jax.process_index(), 2), case.LAYERS,
                      case.CONFIG, num_concepts=case.NUM_CONCEPTS, progress=False,
                      out_dir=os.path.join(out, "results"))
    arrays = {}
    for layer, r in results.items():
        arrays.update({f"{layer}/thresholds": r.thresholds, f"{layer}/inter": r.counts.inter,
                       f"{layer}/topk_indices": r.topk_indices})
    np.savez(os.path.join(out, f"process{jax.process_index()}.npz"), **arrays)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:])
