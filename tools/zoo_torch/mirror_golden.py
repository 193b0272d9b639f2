"""Writing a zoo golden file from mirrors (tools/zoo_torch/mirrors/<Model>.py): every case builds its mirror through
build(vocab_sizes, cfg), perturbs the initial values, and records its parameters (FsdNet's names), the train-mode
prediction, the loss and every parameter's gradient as "<case>:<name>", "<case>:y_pred", "<case>:loss",
"<case>:d<name>"."""

import importlib
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import write  # noqa: E402

VOCAB = [6, 5, 4]
FIELDS = ["f0", "f1", "f2"]
CODES = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
LABELS = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)


def perturb(module):
    """Golden-file initial values: no value trivially tiny (embeddings N(0, 0.5), Linear xavier_normal weights and
    N(0, 0.2) biases, BatchNorm affine away from 1/0); other parameters are perturbed by the golden scripts."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Embedding):
                m.weight.normal_(0, 0.5)
                m.weight[0].zero_()
            elif isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                if m.bias is not None:
                    m.bias.normal_(0, 0.2)
            elif isinstance(m, nn.BatchNorm1d) and m.affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)


# Each recorded case's config, with its mirror's name when it was built by one: finish() stores them as params.cases,
# so tools/zoo_torch/check_mirrors.py can rebuild every case with its mirror and check it against the file.
CASES = {}


def record(tensors, case, model, cfg, seed, extra_perturb=None, base_perturb=perturb):
    """model: a mirror's module name (its build is used) or a build(vocab_sizes, cfg) function; base_perturb sets
    the initial values (perturb unless a script has its own), extra_perturb runs after it."""
    CASES[case] = dict(cfg, model=model) if isinstance(model, str) else dict(cfg)
    torch.manual_seed(seed)
    build = importlib.import_module("mirrors." + model).build if isinstance(model, str) else model
    mirror = build(VOCAB, cfg)
    base_perturb(mirror)
    if extra_perturb is not None:
        extra_perturb(mirror)
    named = mirror.fsdnet_names(FIELDS)
    assert len({id(p) for p in named.values()}) == len(named)
    for n, p in named.items():
        tensors[case + ":" + n] = p.detach().clone()
    tensors[case + ":y_pred"] = mirror.predict(CODES)
    loss = mirror.loss(CODES, LABELS)
    tensors[case + ":loss"] = loss
    grads = torch.autograd.grad(loss, list(named.values()), allow_unused=True)
    for n, p, g in zip(named, named.values(), grads):
        tensors[case + ":d" + n] = torch.zeros_like(p) if g is None else g
    return mirror


def start():
    torch.set_num_threads(1)
    return {"codes": CODES, "labels": LABELS}


def finish(name, case, doc, params, tensors):
    write(name, case, doc, dict(params, vocab_sizes=VOCAB, cases=dict(CASES)), tensors)


def perturb_all(model, fields, seed):
    """Non-trivial values for every parameter FsdNet names: embeddings normal(0, 0.5) (padding row 0 kept zero),
    Linear weights xavier and biases normal(0, 0.2), BatchNorm affine, any other parameter normal(0, 0.4)."""
    torch.manual_seed(seed)
    names = model.fsdnet_names(fields)
    with torch.no_grad():
        for n, p in names.items():
            if ".embedding_layer." in n:
                p.normal_(0, 0.5)
                p[0].zero_()
            elif n.endswith("batch_norm.weight") or n.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
            elif p.dim() == 2 and n.endswith(".weight"):
                nn.init.xavier_normal_(p)
            else:
                p.normal_(0, 0.4)
    return names


def golden_case(case, model, fields, codes, labels, tensors, seed):
    """Perturbs the model, then records its parameters, y_pred, loss and every gradient under "<case>:"."""
    names = perturb_all(model, fields, seed)
    model.train()
    for n, p in names.items():
        tensors[case + ":" + n] = p.detach().clone()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    tensors[case + ":y_pred"] = model.predict(codes).detach()
    model.load_state_dict(state)  # the loss pass starts from the same BatchNorm running statistics
    loss = model.loss(codes, labels)
    grads = torch.autograd.grad(loss, list(names.values()), allow_unused=True)
    tensors[case + ":loss"] = loss.detach()
    for n, p, g in zip(names, names.values(), grads):
        tensors[case + ":d" + n] = g if g is not None else torch.zeros_like(p)


def golden_cases(name, case, doc, cases, build):
    """The main of the golden scripts that perturb through golden_case (AFN, FiBiNET, FinalMLP, PNN): case k is built after torch.manual_seed(300 + k), perturbed with seed 400 + k, and the file's params are
    {vocab_sizes, cases}."""
    tensors = start()
    for k, (c, cfg) in enumerate(cases.items()):
        torch.manual_seed(300 + k)
        golden_case(c, build(VOCAB, cfg), FIELDS, CODES, LABELS, tensors, 400 + k)
    write(name, case, doc, {"vocab_sizes": VOCAB, "cases": cases}, tensors)
