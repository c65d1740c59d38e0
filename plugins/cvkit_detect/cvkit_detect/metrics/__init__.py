"""Detection metrics: VOC AP (devkit rules) and COCO (pycocotools)."""
