"""Instance-segmentation metrics: COCO segm and bbox AP through pycocotools."""
