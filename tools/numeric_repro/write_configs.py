#!/usr/bin/env python3
"""Writes the FuxiCTR config folder (dataset_config.yaml + model_config.yaml) that both FsdNet and the official
FSDNet code read for the numeric-feature comparison (issue 26), over the CSVs of make_frappe_numseq.py.

    python3 tools/numeric_repro/write_configs.py DATA_DIR CFG_DIR [--fuxi-root DIR]

Data sets (all with the 10 Frappe fields as categorical, min_categr_count 2):
  frappe_cat       nothing else                          frappe_num      + item_pop, user_act (StandardScaler)
  frappe_seq       + user_items (sequence, max_len 20)   frappe_numseq   + both
  frappe_ml        + item_tags (sequence), then user_level (StandardScaler): MovieLens' genres and age in shape,
                   the numeric column after the sequence as in the report that opened the issue
  frappe_ml_numfirst, frappe_ml_noseq, frappe_ml_nonum   the same with the numeric first, or one of the two left out
Experiments: FSDNet_<dataset> with the official Frappe settings (batch_norm, dropout 0.7, loss_coefficient 0.9,
Temp 1.3), FSDNet_<dataset>_nobn, and FSDNetML_<dataset> / DCNv2ML_<dataset> with the official ML-1M settings
(dropout 0.1, embedding_regularizer 0.1, loss_coefficient 0.4, Temp 1.8).
"""
import argparse
import os

CATS = "{name: [user, item, daytime, weekday, isweekend, homework, cost, weather, country, city], active: true, dtype: str, type: categorical}"
NUM = "{name: [item_pop, user_act], active: true, dtype: float, type: numeric, normalizer: StandardScaler, fill_na: 0}"
SEQ = "{name: user_items, active: true, dtype: str, type: sequence, splitter: ^, max_len: 20, padding: post}"
TAGS = "{name: item_tags, active: true, dtype: str, type: sequence, splitter: ^, max_len: 4, padding: post}"
LEVEL = "{name: user_level, active: true, dtype: float, type: numeric, normalizer: StandardScaler, fill_na: 0}"
DATASETS = {
    "frappe_cat": [CATS], "frappe_num": [CATS, NUM], "frappe_seq": [CATS, SEQ], "frappe_numseq": [CATS, NUM, SEQ],
    "frappe_ml": [CATS, TAGS, LEVEL], "frappe_ml_numfirst": [CATS, LEVEL, TAGS],
    "frappe_ml_noseq": [CATS, LEVEL], "frappe_ml_nonum": [CATS, TAGS],
}
FRAPPE = dict(embedding_regularizer=0.1, net_dropout=0.7, loss_coefficient=0.9, Temp=1.3)
ML1M = dict(embedding_regularizer=0.1, net_dropout=0.1, loss_coefficient=0.4, Temp=1.8)


def experiment(name, model, ds, batch_norm, hp):
    return f"""
{name}:
    model: {model}
    dataset_id: {ds}
    loss: binary_crossentropy
    metrics: [logloss, AUC]
    task: binary_classification
    optimizer: adam
    model_structure: parallel
    learning_rate: 1.0e-3
    embedding_regularizer: {hp['embedding_regularizer']}
    net_regularizer: 0
    batch_size: 10000
    embedding_dim: 16
    parallel_dnn_hidden_units: [400, 400, 400]
    dnn_activations: relu
    num_cross_layers: 3
    net_dropout: {hp['net_dropout']}
    batch_norm: {str(batch_norm).lower()}
    epochs: 100
    shuffle: true
    seed: 2023
    monitor: AUC
    monitor_mode: max
    choice: 2
    loss_coefficient: {hp['loss_coefficient']}
    fea_coefficient: 0.01
    Temp: {hp['Temp']}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("cfg")
    ap.add_argument("--fuxi-root", default="/tmp/fsdnet_numeric_fuxi", help="where FuxiCTR writes its h5 files and checkpoints")
    a = ap.parse_args()
    data = os.path.abspath(a.data)
    os.makedirs(a.cfg, exist_ok=True)
    with open(os.path.join(a.cfg, "dataset_config.yaml"), "w") as f:
        for ds, cols in DATASETS.items():
            f.write(f"{ds}:\n    data_root: {a.fuxi_root}/data/\n    data_format: csv\n")
            for split in ("train", "valid", "test"):
                f.write(f"    {split}_data: {data}/{split}.csv\n")
            f.write("    min_categr_count: 2\n    feature_cols:\n")
            f.writelines(f"    -   {c}\n" for c in cols)
            f.write("    label_col: {name: label, dtype: float}\n\n")
    with open(os.path.join(a.cfg, "model_config.yaml"), "w") as f:
        f.write(f"Base:\n    model_root: {a.fuxi_root}/checkpoints/\n    num_workers: 1\n    verbose: 1\n    early_stop_patience: 2\n"
                "    pickle_feature_encoder: true\n    save_best_only: true\n    eval_steps: null\n    debug_mode: false\n"
                "    group_id: null\n    use_features: null\n    feature_specs: null\n    feature_config: null\n")
        for ds in DATASETS:
            f.write(experiment(f"FSDNet_{ds}", "FSDNet", ds, True, FRAPPE))
            f.write(experiment(f"FSDNet_{ds}_nobn", "FSDNet", ds, False, FRAPPE))
            f.write(experiment(f"FSDNetML_{ds}", "FSDNet", ds, True, ML1M))
            f.write(experiment(f"DCNv2ML_{ds}", "DCNv2", ds, True, ML1M))


if __name__ == "__main__":
    main()
