"""Image annotations shared by every image task: one schema, COCO and VOC readers, masks, results and COCO scoring.

The modules here import no torch, so reading annotations and scoring a predictions file never pays for it.
"""
