"""PyTorch mirror of FuxiCTR's GDCNP (model_zoo/GDCN, parallel towers); the model is GDCN.py's with parallel=True."""

from .GDCN import GDCNMirror


def build(vocab_sizes, cfg):
    return GDCNMirror(vocab_sizes, cfg, parallel=True)
