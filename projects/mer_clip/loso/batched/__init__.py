"""The fold-batched LOSO mode: every fold of a small model's LOSO as one vectorised training.

``tools/loso.py CONFIG --fold-mode batched``: the folds' networks are stacked side by side
(:mod:`.stacked_model`: the interface; :mod:`.stacked_ststnet`, :mod:`.stacked_off_apexnet`),
each keeps its own parameters, AdamW state (:mod:`.stacked_adamw`),
lr schedule (:mod:`.fold_schedule`), batch-norm statistics, and its own batches and dropout masks
drawn as its per-fold run draws them (:mod:`.fold_stream`); :mod:`.trainer` runs the epochs,
checkpoints the stacked state and writes every fold's files as the other fold modes do.
"""
