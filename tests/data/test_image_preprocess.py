import numpy as np
import pytest
import torch
from PIL import Image

from jaxdissect.data.preprocess import ImagePreprocess, center_crop, image_from_array


def reference(array, resize, crop):
    """Independent reference: PIL bilinear squash, then a numpy slice at torchvision's offset."""
    resized = np.asarray(Image.fromarray(array).resize((resize, resize), Image.BILINEAR))
    offset = {(256, 224): 16, (256, 227): 14, (64, 48): 8}[(resize, crop)]
    return resized[offset : offset + crop, offset : offset + crop]


@pytest.mark.parametrize("crop", [224, 227])
def test_matches_squash_then_centre_crop(rng, crop):
    array = rng.integers(0, 256, (300, 410, 3), dtype=np.uint8)
    out = ImagePreprocess(resize=256, crop=crop)(Image.fromarray(array))
    assert out.dtype == np.uint8 and out.shape == (crop, crop, 3)
    np.testing.assert_array_equal(out, reference(array, 256, crop))


def test_bilinear_downscale_is_antialiased_like_torch(rng):
    """PIL bilinear widens its support when shrinking: torch's antialiased bilinear agrees to
    one grey level, the plain (aliasing) bilinear does not."""
    array = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    ours = ImagePreprocess(resize=256, crop=None)(Image.fromarray(array)).astype(int)
    x = torch.tensor(array).permute(2, 0, 1)[None].float()

    def torch_resize(antialias):
        y = torch.nn.functional.interpolate(x, size=(256, 256), mode="bilinear",
                                            antialias=antialias, align_corners=False)
        return y[0].permute(1, 2, 0).round().clamp(0, 255).numpy().astype(int)

    assert np.abs(ours - torch_resize(True)).max() <= 1
    assert np.abs(ours - torch_resize(False)).mean() > 5


def test_modes_become_rgb(rng):
    gray = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    out = ImagePreprocess(resize=64, crop=48)(Image.fromarray(gray))
    expected = reference(np.repeat(gray[..., None], 3, axis=2), 64, 48)
    np.testing.assert_array_equal(out, expected)
    rgba = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
    out = ImagePreprocess(resize=64, crop=48)(Image.fromarray(rgba))
    np.testing.assert_array_equal(out, reference(rgba[..., :3].copy(), 64, 48))


def test_no_resize_crops_the_decoded_image(rng):
    array = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    out = ImagePreprocess(resize=None, crop=30)(Image.fromarray(array))
    np.testing.assert_array_equal(out, array[5:35, 10:40])
    with pytest.raises(ValueError, match="smaller than the crop"):
        center_crop(Image.fromarray(array), 45)


def test_settings_and_validation():
    assert ImagePreprocess().settings() == {"resize": 256, "crop": 224, "filter": "bilinear"}
    assert ImagePreprocess(resize=64, crop=None).output_shape == (64, 64, 3)
    with pytest.raises(ValueError, match="filter"):
        ImagePreprocess(filter="cubic")
    with pytest.raises(ValueError, match="larger than resize"):
        ImagePreprocess(resize=200, crop=224)
    with pytest.raises(ValueError, match="resize= or crop="):
        ImagePreprocess(resize=None, crop=None)
    with pytest.raises(ValueError, match="uint8"):
        image_from_array(np.zeros((4, 4, 3), np.float32))
