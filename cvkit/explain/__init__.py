"""Seeing inside a trained classifier: ``cvkit visualize KIND`` for the kinds below.

Each kind is a function ``KINDS[kind](ctx: ExplainContext) -> list[Path]`` that writes one or more PNG pictures
into ``ctx.out``, each with a JSON sidecar of the same name holding its numbers, and returns the written paths.
Per-input kinds write ``KIND_NNN_STEM.png`` for each input (``ctx.inputs``; when empty, the first ``count``
images of the ``query_split`` split from ``ctx.load_split``). Layer names are dotted ``named_modules()`` names,
as ``cvkit count-params --per-layer`` and :func:`list_layers` print them. Any classification ``nn.Module``
returning logits ``(B, C)`` works, on CPU or CUDA.

Option keys read from ``ctx.options`` (None or absent = default; strings such as "8" or "true" from a command
line are converted to the default's type). ``target`` is a class name or index; without
it, kinds explain the predicted class (adversarial: attack untargeted; class-model: the first ``max_classes``
classes). Epsilons are in pixel units (images in [0, 1]).

==============  ==========================================================================================
kind            layer (``ctx.layer``) and option keys with defaults
==============  ==========================================================================================
filters         layer: first Conv2d (any conv; without convs, the first Linear's rows drawn as images);
                max_filters=256, max_channels=32
activations     layer: first Conv2d, else first Linear (any layer); max_channels=256
saliency        target=predicted
occlusion       patch=max(2, img_size // 4), stride=max(1, patch // 4), target=predicted
cam             layer: the maps the global-average-pool + linear head reads (found automatically);
                target=predicted. Fails clearly when the model has no such head (use gradcam)
gradcam         layer: last Conv2d; target=predicted
tsne            layer: penultimate (input of the last Linear); split="val", max_samples=2000,
                perplexity=30.0, k=5 (for the k-NN purity it reports), seed=0
neighbors       layer: penultimate; split="train" (the images searched), k=5, max_samples=5000, seed=0
adversarial     epsilon=0.03, steps=10 (PGD), alpha=2.5 * epsilon / steps, target=None (untargeted),
                max_epsilon=0.5 and search=8 (bisection steps) for the smallest flipping epsilon
class-model     target=None (first max_classes=10 classes), iterations=200, lr=0.1, l2=1e-3,
                jitter=max(1, img_size // 16), blur_every=4, blur_sigma=0.5, grey=False, seed=0
dream           layer: middle Conv2d (middle hidden Linear without convs); octaves=3, octave_scale=1.4,
                iterations=10 (per octave), lr=0.05, jitter=max(1, img_size // 16), grey=False, seed=0
inversion       layer: middle Conv2d (as dream); iterations=200, lr=0.05 (Adam), tv=0.05, grey=False, seed=0
attention       ViT attention rollout (nn.MultiheadAttention layers); head_fusion=mean, discard_ratio=0.0
==============  ==========================================================================================

Every per-input kind also reads ``count`` (4) and ``query_split`` ("val") when no SOURCE is given.
``grey`` (true/false) keeps synthesised images grey (R = G = B), for models trained on grey images.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cvkit.explain import activations, adversarial, attention, cam, embed, filters, occlusion, saliency, synthesis
from cvkit.explain.context import ExplainContext, SplitLoader
from cvkit.explain.layers import list_layers

KINDS: dict[str, Callable[[ExplainContext], list[Path]]] = {
    "filters": filters.run,
    "activations": activations.run,
    "saliency": saliency.run,
    "occlusion": occlusion.run,
    "cam": cam.run_cam,
    "gradcam": cam.run_gradcam,
    "tsne": embed.run_tsne,
    "neighbors": embed.run_neighbors,
    "adversarial": adversarial.run,
    "class-model": synthesis.run_class_model,
    "dream": synthesis.run_dream,
    "inversion": synthesis.run_inversion,
    "attention": attention.run,
}

__all__ = ["KINDS", "ExplainContext", "SplitLoader", "list_layers"]
