import numpy as np
import pytest

from jaxdissect.data.latents import LatentSource, latent_batches


def published(num_samples, seed=1, dim=512):
    return np.random.RandomState(seed).standard_normal((num_samples, dim)).astype(np.float32)


def test_the_first_z_does_not_depend_on_the_count():
    first = LatentSource(3).read_row(0)["z"]
    for count in (1, 7, 100):
        np.testing.assert_array_equal(LatentSource(count).read_row(0)["z"], first)
    np.testing.assert_array_equal(first, published(1)[0])


@pytest.mark.parametrize("batch_size", [1, 3, 7])
def test_lazy_batches_equal_the_all_at_once_draw(batch_size):
    out = list(latent_batches(19, batch_size, process_index=0, process_count=1))
    assert len(out) == -(-19 // batch_size)
    z = np.concatenate([b["z"] for b in out])
    mask = np.concatenate([b["mask"] for b in out])
    assert z.dtype == np.float32 and z.shape[1] == 512
    np.testing.assert_array_equal(z[:19], published(19))
    assert mask[:19].all() and not mask[19:].any()
    np.testing.assert_array_equal(z[19:], 0)


def test_other_seed_and_dim():
    out = list(latent_batches(5, 5, seed=4, dim=8, process_index=0, process_count=1))
    np.testing.assert_array_equal(out[0]["z"], published(5, seed=4, dim=8))


def test_hosts_and_random_access():
    whole = published(12, dim=16)
    halves = [list(latent_batches(12, 6, dim=16, process_index=p, process_count=2))
              for p in range(2)]
    joined = np.concatenate([np.concatenate([h[k]["z"] for h in halves]) for k in range(2)])
    np.testing.assert_array_equal(joined, whole)
    source = LatentSource(12, dim=16)
    arrays, valid = source.read_batch([9, 2, 5])  # out of order: the stream restarts
    np.testing.assert_array_equal(arrays["z"], whole[[9, 2, 5]])
    np.testing.assert_array_equal(source.read_batch([1])[0]["z"][0], whole[1])
    assert valid.all()


def test_errors():
    with pytest.raises(ValueError, match="at least one"):
        LatentSource(0)
    with pytest.raises(IndexError):
        LatentSource(3).read_batch([3])
