"""One module per task kind; each registers itself with ``evaluator.registry``."""
