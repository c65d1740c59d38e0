"""The loops every task shares: training, evaluation and prediction, plus devices and checkpoints."""
