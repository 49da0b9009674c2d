"""The usual course recipe for batch scoring, as the benchmark's baseline: pandas reads the whole CSV,
scikit-learn predicts, pandas writes id, label and class probabilities.

The model is trained at start exactly as models/breast-cancer/train.py does (same data, split, seed),
so both sides score the same MLP. Only reading, predicting and writing are timed.

Usage: /usr/bin/python3 bench/batch/sklearn_baseline.py INPUT.csv OUTPUT.csv
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


def main(src, dst):
    model, labels = train()
    cpu_start = time.process_time()
    start = time.perf_counter()
    df = pd.read_csv(src)
    ids = df.pop("id")
    proba = model.predict_proba(df.to_numpy(dtype=np.float64))
    out = pd.DataFrame({"id": ids, "label": np.asarray(labels)[proba.argmax(axis=1)]})
    for j, label in enumerate(labels):
        out[f"p_{label}"] = proba[:, j]
    out.to_csv(dst, index=False)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": int(len(df)), "seconds": seconds, "peakRssMiB": peak_mib, "cpuSeconds": cpu_seconds}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
