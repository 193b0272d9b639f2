"""PyTorch mirror of FuxiCTR's GDCNP (model_zoo/GDCN, parallel towers); the model is GDCN.py's with parallel=True."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from GDCN import GDCNMirror  # noqa: E402


def build(vocab_sizes, cfg):
    return GDCNMirror(vocab_sizes, cfg, parallel=True)
