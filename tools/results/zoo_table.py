#!/usr/bin/python3
"""The model-zoo table of docs/RESULTS.md from a grid results.csv (docs/results/zoo_frappe_one_seed.csv):
    python3 tools/results/zoo_table.py docs/results/zoo_frappe_one_seed.csv
"""
import csv, sys
paper = {"FM":0.9672,"DNN":0.9811,"PNN":0.9828,"WideDeep":0.9832,"DeepFM":0.9837,"DCN":0.9838,"xDeepFM":0.9844,"AutoInt":0.9841,"DCNv2":0.9845,"EDCN":0.9841,"MaskNet":0.9832,"FSDNet":0.9856}
rows = list(csv.DictReader(open(sys.argv[1])))
byexp = {r["expid"]: r for r in rows}
print("| experiment | model | FSD | test AUC | test logloss | best epoch | epochs run | train s/epoch | paper AUC |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    fsd = "on" if "_fsd_" in r["expid"] or r["model"] == "FSDNet" else "off"
    print(f"| {r['expid']} | {r['model']} | {fsd} | {float(r['test_auc']):.6f} | {float(r['test_logloss']):.6f} | {r['best_epoch']} | {r['epochs_run']} | {r['train_s_per_epoch']} | {paper.get(r['model'], '–') if fsd=='off' or r['model']=='FSDNet' else '–'} |")
print()
print("| model | AUC without FSD | AUC with FSD | gain | logloss without | logloss with | gain |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if "_fsd_" in r["expid"]:
        b = byexp.get(r["expid"].replace("_fsd_", "_"))
        if b:
            a0, a1, l0, l1 = float(b["test_auc"]), float(r["test_auc"]), float(b["test_logloss"]), float(r["test_logloss"])
            print(f"| {r['model']} | {a0:.6f} | {a1:.6f} | {a1-a0:+.6f} | {l0:.6f} | {l1:.6f} | {l1-l0:+.6f} |")
