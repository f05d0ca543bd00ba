"""The dissection engine: activations and segmentations in, thresholds, IoUs and labels out.

Flow, one module per step: :mod:`.first_pass` runs ``fn(batch) -> (acts, seg)`` once per image
(top-k and the first threshold digit) and keeps its outputs on the devices (:mod:`.resident`) or
in the host cache (:mod:`.cache`); :mod:`.engine` replays them for the threshold passes (radix
selection) and the intersection pass (statistics from :mod:`jaxdissect.stats`, upsampling from
:mod:`.upsample` and :mod:`.interpolation`); :mod:`.labels` turns counts into IoUs, labels and
detector tallies; :mod:`.results` is the saved :class:`~.results.LayerResult`, in a layer folder
(:mod:`.layer_files`: its place, its ``report.json``, whether it is finished). :mod:`.driver` is
``jaxdissect.dissect`` (all of it for a list of layers, into an output folder it is given),
:mod:`.resume` its checkpoints, :mod:`.progress` its progress display, :mod:`.presets` the
published settings.

Nothing here opens a model, data or segmenter by name, or keys a run folder: that is
:mod:`jaxdissect.runs`. A new statistic goes into :mod:`jaxdissect.stats` (init / update / merge /
finalize) and is wired in :mod:`.engine` and :mod:`.results` (three files); a new preset is one
entry in :mod:`.presets`.
"""
