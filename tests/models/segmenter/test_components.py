"""Connected components on the device and the quad split, against scipy and by hand."""

import jax
import numpy as np
from scipy import ndimage

from jaxdissect.models.segmenter.components import connected_components, quad_split

components = jax.jit(connected_components)


def scipy_roots(labels):
    """Per pixel, the flat index of its component's first pixel (scipy, 8-connected)."""
    h, w = labels.shape
    roots = np.full(labels.shape, h * w)
    for value in np.unique(labels[labels > 0]):
        comp, count = ndimage.label(labels == value, structure=np.ones((3, 3)))
        for c in range(1, count + 1):
            roots[comp == c] = np.flatnonzero(comp == c)[0]
    return roots


def spiral(size):
    """A one-pixel-wide spiral of label 1 on 0: the worst case for label propagation."""
    grid = np.zeros((size, size), np.int32)
    top, left, bottom, right = 0, 0, size - 1, size - 1
    while top <= bottom and left <= right:
        grid[top, left:right + 1] = grid[top:bottom + 1, right] = 1
        grid[bottom, left:right + 1] = 1
        grid[top + 2:bottom + 1, left] = 1
        top, left, bottom, right = top + 2, left + 2, bottom - 2, right - 2
        if top <= bottom:
            grid[top - 1, left] = 1  # the step into the next ring
    return grid


def test_components_match_scipy(rng):
    labels = rng.integers(0, 4, size=(3, 17, 23)).astype(np.int32)
    labels[1] = np.kron(rng.integers(0, 3, size=(4, 6)), np.ones((5, 4), np.int32))[:17, :23]
    labels[2] = spiral(23)[:17, :23] * 2
    got = np.asarray(components(labels))
    for i in range(3):
        np.testing.assert_array_equal(got[i], scipy_roots(labels[i]))


def test_spiral_converges():
    labels = spiral(40)[None]
    assert len(np.unique(scipy_roots(labels[0]))) == 2  # one component plus background
    roots, rounds = jax.jit(connected_components, static_argnums=1)(labels, True)
    np.testing.assert_array_equal(np.asarray(roots)[0], scipy_roots(labels[0]))
    assert 1 < int(rounds) < 100  # pointer jumping: far fewer rounds than the path length


def test_quad_split_by_hand():
    k = 10
    labels = np.zeros((1, 6, 7), np.int32)
    labels[0, 1:5, 1:4] = 3  # rows 1-4, cols 1-3: vmid 3, hmid 2
    labels[0, 5, 4:7] = 7  # a one-row component: all bottom
    labels[0, 0, 6] = 3  # another component of object 3 (8-connected to nothing)
    vertical, horizontal = (np.asarray(a)[0] for a in quad_split(labels, k))
    np.testing.assert_array_equal(vertical[1:5, 1], [13, 13, 33, 33])
    np.testing.assert_array_equal(horizontal[2, 1:4], [23, 43, 43])
    np.testing.assert_array_equal(vertical[5, 4:7], [37] * 3)
    np.testing.assert_array_equal(horizontal[5, 4:7], [27, 47, 47])  # cols 4-6: hmid 5
    assert vertical[0, 6] == 33 and horizontal[0, 6] == 43  # one pixel: bottom, right
    assert (vertical[labels[0] == 0] == 0).all() and (horizontal[labels[0] == 0] == 0).all()
    # the reference's quirk: the component whose first pixel comes last in raster order (the
    # row starting at (5, 4), after (0, 6) and (1, 1)) is left out
    vertical, horizontal = (np.asarray(a)[0] for a in quad_split(labels, k, True))
    assert (vertical[5] == 0).all() and (horizontal[5] == 0).all()
    assert vertical[1, 1] == 13 and vertical[0, 6] == 33
