"""Official Segment Anything checkpoints: the variant is read from the state dict; the file loads through the
official layout (``image_encoder.*``, ``prompt_encoder.*``, ``mask_decoder.*``) with weights_only."""

from __future__ import annotations

import pytest
import torch

segment_anything = pytest.importorskip("segment_anything")

from cvkit_promptseg.models.official import detect_variant, read_state_dict  # noqa: E402


def meta_state(kind: str) -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        return segment_anything.sam_model_registry[kind](checkpoint=None).state_dict()


@pytest.mark.parametrize("kind", ["vit_b", "vit_l", "vit_h"])
def test_variant_from_state_dict(kind):
    assert detect_variant(meta_state(kind)) == kind


def test_other_files_are_not_sam(tmp_path):
    state = meta_state("vit_b")
    assert detect_variant({k: v for k, v in state.items() if not k.startswith("mask_decoder.")}) is None
    assert detect_variant({"image_encoder.pos_embed": torch.zeros(1, 64, 64, 500), **{
        k: v for k, v in state.items() if k != "image_encoder.pos_embed"}}) is None
    f = tmp_path / "x.pt"
    torch.save({"weight": torch.zeros(2)}, f)
    assert read_state_dict(f) is None
    f.write_bytes(b"not a torch file")
    assert read_state_dict(f) is None


def test_official_layout_loads(tmp_path, task):
    """A small file in the official layout (the real decoder and prompt encoder; the encoder keys only as their
    detection needs) is read, detected and refused by strict loading with a message naming the file."""
    from cvkit.checkpoint import load_model
    from cvkit.errors import CvkitError

    sam = segment_anything.sam_model_registry["vit_b"](checkpoint=None)
    state = {k: v for k, v in sam.state_dict().items() if not k.startswith("image_encoder.")}
    state["image_encoder.pos_embed"] = sam.image_encoder.pos_embed.detach().clone()
    for i in range(12):
        state[f"image_encoder.blocks.{i}.norm1.weight"] = torch.ones(768)
    f = tmp_path / "sam_vit_b_small.pth"
    torch.save(state, f)
    ckpt = task.foreign_checkpoint(f)
    assert ckpt.model.name == "sam_vit_b" and ckpt.model.img_size == 1024 and ckpt.info.classes == ["object"]
    with pytest.raises(CvkitError, match="sam_vit_b_small.pth: weights do not fit model 'sam_vit_b'"):
        load_model(f, "cpu", "promptseg")
    with pytest.raises(CvkitError, match="not a cvkit checkpoint"):
        load_model(f, "cpu")  # without the task, nothing but a cvkit checkpoint is read


@pytest.fixture(scope="module")
def official():
    from cvkit_promptseg.models.official import OfficialSam

    torch.manual_seed(0)
    return OfficialSam("vit_b").eval()


def test_decode_equals_segment_anything(official):
    """Our prompt path (points, boxes as corner points, padding, previous mask) gives Meta's numbers exactly."""
    gen = torch.Generator().manual_seed(0)
    emb = torch.randn(1, 256, 64, 64, generator=gen)
    index = torch.zeros(1, dtype=torch.long)
    pe = official.prompt_encoder
    cases = [
        (torch.tensor([[[100.0, 200.0], [300.0, 50.0]]]), torch.tensor([[1.0, 0.0]]), None),
        (torch.tensor([[[10.0, 20.0], [500.0, 700.0]]]), torch.tensor([[2.0, 3.0]]),
         torch.tensor([[10.0, 20, 500, 700]])),
    ]
    mask_in = torch.randn(1, 1, 256, 256, generator=gen)
    with torch.no_grad():
        for pts, labels, box in cases:
            for masks in (None, mask_in):
                got_m, got_q = official.decode((emb, index), pts, labels, masks,
                                               None if masks is None else torch.ones(1))
                if box is None:
                    sparse, dense = pe(points=(pts, labels), boxes=None, masks=masks)
                else:
                    sparse, dense = pe(points=None, boxes=box, masks=masks)
                ref_m, ref_q = official.mask_decoder.predict_masks(emb, pe.get_dense_pe(), sparse, dense)
                torch.testing.assert_close(got_m, ref_m, rtol=0, atol=1e-5)
                torch.testing.assert_close(got_q, ref_q, rtol=0, atol=1e-6)


class _CheapEncoder(torch.nn.Module):
    """Stands in for the ViT (18 s per image on CPU): a fixed random projection to SAM's 256 x 64 x 64 embedding."""

    img_size = 1024

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.nn.functional.adaptive_avg_pool2d(x, 64)
        return pooled.repeat(1, 86, 1, 1)[:, :256]


def test_official_glue_predict_and_simulate(official, task, tmp_path):
    """Prompts and the click simulation run on the official model's 1024-px frame and 256-px logits, masks come
    back at the original size (the ViT replaced by a cheap stand-in to keep this fast)."""
    from cvkit.data import load_split
    from cvkit.task import Batch, ModelConfig, PredictOptions
    from cvkit.vision.masks import decode_rle
    from cvkit.vision.shapes import write_shapes
    from cvkit_promptseg.models.official import SAM_MEAN, SAM_STD

    data = write_shapes(tmp_path / "d", 1, 0, fmt="coco", image_size=64, val_size=1)
    raw = load_split(task, f"coco:{data}", "val")

    cfg = ModelConfig("sam_vit_b", 1024, {}, SAM_MEAN, SAM_STD)
    encoder = official.image_encoder
    official.image_encoder = _CheapEncoder()
    try:
        ds = task.dataset(raw, cfg, train=False)
        batch = task.collate([ds[0]])
        assert batch.inputs.shape == (1, 3, 1024, 1024)
        with torch.no_grad():
            sim = task.predict_step(official, batch)[0]
            plain = Batch(batch.inputs, None, [0], batch.meta)
            pred = task.predict_step(official, plain, PredictOptions(extra={"point": "20,30", "box": "2,2,40,40"}))
    finally:
        official.image_encoder = encoder
    assert len(sim["objects"]) == len(raw.targets[0]["objects"])
    assert decode_rle(sim["objects"][0]["masks"][-1]).shape == (64, 64)
    (p,) = pred[0]["prompts"]
    assert p["box"] == [2, 2, 40, 40] and decode_rle(p["masks"][0]["rle"]).shape == (64, 64)
