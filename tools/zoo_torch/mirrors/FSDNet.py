"""Mirror of FSDNet: tools/fsdnet_torch/fsdnet.py's FSDNetMirror (the model of bench/train_vs_pytorch.sh) behind the
zoo mirror interface. Keys as FsdNetOptions: embedding_dim 16, parallel_dnn_hidden_units [400, 400, 400] (all
equal, one per cross layer), num_cross_layers 3, net_dropout 0, batch_norm False, and the FSD keys (choice 0,
loss_coefficient 0.3, fea_coefficient 0.01, Temp 1, soft_loss official: the official constructor's defaults).
FsdNet names: embedding.*, cross.cross_layers.<i>.*, dnn.<i>.linear/batch_norm.*, heads.<i>.*."""

from . import _base as B

FSDNetMirror = B._fsd.FSDNetMirror


class FSDNet(FSDNetMirror):
    def __init__(self, vocab_sizes, cfg):
        units = list(B.get(cfg, "parallel_dnn_hidden_units", [400, 400, 400]))
        layers = int(B.get(cfg, "num_cross_layers", 3))
        if len(units) != layers or any(u != units[0] for u in units):
            raise ValueError("FSDNet needs num_cross_layers equal widths in parallel_dnn_hidden_units, got %r" % units)
        act = str(B.get(cfg, "dnn_activations", "relu")).lower()
        if act != "relu":
            raise NotImplementedError("FSDNetMirror has ReLU only, got %s" % act)
        super().__init__(vocab_sizes, embedding_dim=int(B.get(cfg, "embedding_dim", 16)), num_layers=layers,
                         hidden_units=units[0], dropout=float(B.get(cfg, "net_dropout", 0)),
                         batch_norm=bool(B.get(cfg, "batch_norm", False)))
        self.settings = B.FsdSettings(cfg)
        if self.settings.score_head is not None:
            raise NotImplementedError("score_head in the FSDNet mirror")

    def predict(self, codes):
        return self.forward(codes)["y_pred"].unsqueeze(1)

    def loss(self, codes, labels):
        return self.settings.loss(self.forward(codes), labels)

    def fsdnet_names(self, fields):
        out = {"embedding.embedding_layer.%s.weight" % f: e.weight for f, e in zip(fields, self.embeddings)}
        for i in range(self.num_layers):
            out["cross.cross_layers.%d.weight" % i] = self.cross_layers[i].weight
            out["cross.cross_layers.%d.bias" % i] = self.cross_layers[i].bias
            out["dnn.%d.linear.weight" % i] = self.dnn_linears[i].weight
            out["dnn.%d.linear.bias" % i] = self.dnn_linears[i].bias
            if self.dnn_bns is not None:
                out["dnn.%d.batch_norm.weight" % i] = self.dnn_bns[i].weight
                out["dnn.%d.batch_norm.bias" % i] = self.dnn_bns[i].bias
            out["heads.%d.weight" % i] = self.heads[i].weight
            out["heads.%d.bias" % i] = self.heads[i].bias
        return out


def build(vocab_sizes, cfg):
    return FSDNet(vocab_sizes, cfg)
