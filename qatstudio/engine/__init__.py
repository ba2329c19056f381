"""QAT Studio's engine: data, models, pruning, training, calibration, the integer model, lowering,
Concrete compilation and keys, evaluation.

It knows nothing of files, settings or Qt: the application services (``qatstudio.services``) sit
on top of it, and the window and the command line on top of them.
"""
