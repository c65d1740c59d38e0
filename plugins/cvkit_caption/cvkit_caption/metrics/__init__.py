"""Caption metrics: coco-caption's BLEU, ROUGE-L and CIDEr-D (``scores``) and the task's evaluator."""
