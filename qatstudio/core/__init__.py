"""QAT Studio's engine: data, models, training, lowering to integers, FHE compilation, evaluation.

Nothing here imports Qt: everything the window does can be done from this package or the CLI.
"""
