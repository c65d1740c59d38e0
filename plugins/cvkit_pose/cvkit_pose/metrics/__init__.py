"""Pose metrics: PCKh (MPII), COCO keypoint AP (pycocotools OKS), and the evaluator that pairs people."""
