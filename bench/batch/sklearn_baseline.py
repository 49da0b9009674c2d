"""The usual course recipe for batch scoring, as the benchmark's baseline: pandas reads the whole CSV,
scikit-learn predicts, pandas writes id, label and class probabilities.

The model is trained at start exactly as models/breast-cancer/train.py does (same data, split, seed),
so both sides score the same MLP. Only reading, predicting and writing are timed.

JSON Lines go through pandas.read_json(lines=True) and to_json(orient="records", lines=True). Parquet needs
pyarrow or fastparquet, which Debian does not package: without either, the benchmark compares Parquet
against this script reading the CSV copy of the same rows.

Usage: /usr/bin/python3 bench/batch/sklearn_baseline.py INPUT.{csv,jsonl,parquet} OUTPUT.{csv,jsonl,parquet}
Prints one JSON line: {"rows", "seconds", "peakRssMiB", "cpuSeconds"}.
"""
import json
import resource
import sys
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 42


def train():
    data = load_breast_cancer()
    X_train, _, y_train, _ = train_test_split(data.data, data.target, test_size=0.2, stratify=data.target, random_state=SEED)
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3, max_iter=2000, random_state=SEED))
    model.fit(X_train, y_train)
    return model, [str(n) for n in data.target_names]


def read(src):
    if src.endswith(".jsonl"):
        return pd.read_json(src, lines=True, dtype={"id": str})
    if src.endswith(".parquet"):
        return pd.read_parquet(src)
    return pd.read_csv(src)


def write(out, dst):
    if dst.endswith(".jsonl"):
        out.to_json(dst, orient="records", lines=True)
    elif dst.endswith(".parquet"):
        out.to_parquet(dst, index=False)
    else:
        out.to_csv(dst, index=False)


def main(src, dst):
    model, labels = train()
    cpu_start = time.process_time()
    start = time.perf_counter()
    df = read(src)
    ids = df.pop("id")
    proba = model.predict_proba(df.to_numpy(dtype=np.float64))
    out = pd.DataFrame({"id": ids, "label": np.asarray(labels)[proba.argmax(axis=1)]})
    for j, label in enumerate(labels):
        out[f"p_{label}"] = proba[:, j]
    write(out, dst)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": int(len(df)), "seconds": seconds, "peakRssMiB": peak_mib, "cpuSeconds": cpu_seconds}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
