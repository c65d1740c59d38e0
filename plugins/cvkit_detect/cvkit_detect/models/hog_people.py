"""``hog-people``: OpenCV's bundled pretrained HOG people detector (Dalal & Triggs' INRIA SVM), no training.

Detections are labelled with the dataset's ``person`` class (index 0 when it has none). The detector's 64x128
window finds people at least ~128 px tall in the model input: use ``--img-size`` 512 or more. Scores are the SVM
margins passed through a sigmoid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torchvision.ops import nms

from cvkit_detect.models.hog_common import to_uint8


class HogPeople(nn.Module):
    fitted_in_one_pass = True  # cvkit.model protocol: fit(batches) (OpenCV's detector: nothing to learn)
    not_exportable = "it runs OpenCV's HOG people detector, which an ONNX or TorchScript graph cannot hold"

    def __init__(self, person_index: int, mean: Any, std: Any, scale: float = 1.05, hit_threshold: float = 0.0,
                 nms_iou: float = 0.45) -> None:
        super().__init__()
        self.person_index, self.mean, self.std = int(person_index), tuple(mean), tuple(std)
        self.scale, self.hit_threshold, self.nms_iou = float(scale), float(hit_threshold), float(nms_iou)
        self.register_buffer("dummy", torch.zeros(()), persistent=False)

    def fit(self, batches: Iterator[Any]) -> None:
        """Nothing to fit: the detector is OpenCV's pretrained one."""

    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None) -> Any:
        if targets is not None:
            return {"loss": self.dummy * 0.0}
        return [self.detect(to_uint8(img, self.mean, self.std)) for img in images]

    def detect(self, img: np.ndarray) -> dict[str, torch.Tensor]:
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        h, w = img.shape[:2]
        rects, weights = (), ()
        if h >= 128 and w >= 64:
            rects, weights = hog.detectMultiScale(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), hitThreshold=self.hit_threshold,
                                                  winStride=(8, 8), padding=(8, 8), scale=self.scale)
        r = torch.as_tensor(np.asarray(rects, np.float32).reshape(-1, 4))
        boxes = torch.cat([r[:, :2], r[:, :2] + r[:, 2:]], 1)
        scores = torch.sigmoid(torch.as_tensor(np.asarray(weights, np.float32).reshape(-1)))
        keep = nms(boxes, scores, self.nms_iou)
        dev = self.dummy.device
        return {"boxes": boxes[keep].to(dev), "scores": scores[keep].to(dev),
                "labels": torch.full((len(keep),), self.person_index, dtype=torch.long, device=dev)}


def build(num_classes: int, img_size: int, args: dict[str, Any], classes: list[str] | None = None,
          mean: Any = (0.485, 0.456, 0.406), std: Any = (0.229, 0.224, 0.225), **_: Any) -> HogPeople:
    person = classes.index("person") if classes and "person" in classes else 0
    return HogPeople(person, mean, std, **args)
