"""Input pipelines: image folders, tensorflow-datasets, Broden, latent samples, packed caches.

Every source is a :class:`RowSource` (random access, fixed row shapes, a :class:`DataSummary` of
what it skipped); :func:`batches` turns one into fixed-size padded and masked batches of host
numpy arrays, decoded in parallel threads, prefetched, and split over hosts. Data spec strings
(``folder:PATH``, ...) belong to the application: :func:`jaxdissect.runs.data.open_source`. The
synthetic world's source lives with the rest of the world in :mod:`jaxdissect.world`. A new data
source is one module here (a ``RowSource``) and its scheme in :mod:`jaxdissect.runs.data`.
"""

from jaxdissect.data.batching import Batches, batches
from jaxdissect.data.broden import BrodenDataset
from jaxdissect.data.folder import IMAGE_EXTENSIONS, ImageFolder
from jaxdissect.data.latents import LatentSource, latent_batches
from jaxdissect.data.packed import PackedSource, cache_key, cached
from jaxdissect.data.preprocess import ImagePreprocess
from jaxdissect.data.skipped import BadDataWarning, BadRecordError, DataSummary, SkippedRecord
from jaxdissect.data.source import Field, RowSource
from jaxdissect.data.tfds_source import TfdsImages

__all__ = [
    "IMAGE_EXTENSIONS",
    "BadDataWarning",
    "BadRecordError",
    "Batches",
    "BrodenDataset",
    "DataSummary",
    "Field",
    "ImageFolder",
    "ImagePreprocess",
    "LatentSource",
    "PackedSource",
    "RowSource",
    "SkippedRecord",
    "TfdsImages",
    "batches",
    "cache_key",
    "cached",
    "latent_batches",
]
