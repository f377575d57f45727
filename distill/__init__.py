"""distill-bench: distil BERT-family teachers into tiny BiLSTM students (Tang et al. 2019)."""

import os

# Never reach for a model hub at run time: every model is a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

__version__ = "0.1.0"
