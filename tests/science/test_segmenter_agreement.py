"""Claim: a dissection labelled by a trained segmenter agrees with one labelled by the truth.

The paper labels units with a learned segmenter because ground truth is unavailable for most
images. On the world both exist: the classifier's last conv layer (``conv4_2``) is dissected on
the same 600 fresh world images once with the world's exact segmentations and once with the
shipped world segmenter (``conftest``). Agreement: among the units interpretable under the
exact labels (IoU > 0.04), the fraction whose best concept is the same under both.

Measured (600 images, world seeds 3, 5 and 7): 52/62 (0.84), 53/60 (0.88) and 55/60 (0.92);
over the units interpretable under either labelling 0.84-0.90; the segmenter finds 61-63
interpretable units where the exact labels find 60-62. Disagreements typically name the same
region by a neighbouring concept (a road by its asphalt, a crown by its foliage). The test asks
for 0.7, 14 points below the lowest measurement, and that the segmenter finds about as many
interpretable units.
"""

MIN_AGREEMENT = 0.7


def test_segmenter_and_exact_labels_agree_on_most_units(classifier_exact, classifier_segmented):
    exact = classifier_exact["conv4_2"].labels
    learned = classifier_segmented["conv4_2"].labels
    assert classifier_exact["conv4_2"].vocabulary.names == \
        classifier_segmented["conv4_2"].vocabulary.names
    same = exact.concept == learned.concept
    interpretable = exact.interpretable
    assert interpretable.sum() >= 30
    agreement = same[interpretable].mean()
    assert agreement >= MIN_AGREEMENT, f"{same[interpretable].sum()}/{interpretable.sum()} agree"
    either = exact.interpretable | learned.interpretable
    assert same[either].mean() >= MIN_AGREEMENT
    assert abs(int(learned.interpretable.sum()) - int(exact.interpretable.sum())) <= 0.2 * len(
        interpretable)
