"""Trains the breast-cancer example model and writes model.onnx, model.json, parity.json, baseline.json.

Run from the repository root:  /usr/bin/python3 models/breast-cancer/train.py
Data: scikit-learn's load_breast_cancer (Wisconsin Diagnostic Breast Cancer, 569 rows, 30 features).
"""
import os
import re
import sys

import numpy as np
import onnx
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from export_tools import baseline, mlp_graph, mlp_layers, parity, write_json  # noqa: E402

SEED = 42
VERSION = "1.0.0"


def snake(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def main():
    data = load_breast_cancer()
    X, y = data.data, data.target
    labels = [str(n) for n in data.target_names]  # 0 = malignant, 1 = benign
    names = [snake(n) for n in data.feature_names]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=SEED)

    scaler = StandardScaler().fit(X_train)
    clf = MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3, max_iter=2000, random_state=SEED)
    clf.fit(scaler.transform(X_train), y_train)

    def predict(rows):
        return clf.predict(scaler.transform(rows))

    def proba(rows):
        return clf.predict_proba(scaler.transform(rows))

    p_test = proba(X_test)
    metrics = {
        "accuracy": round(float(accuracy_score(y_test, predict(X_test))), 4),
        "rocAuc": round(float(roc_auc_score(y_test, p_test[:, 1])), 4),
        "logLoss": round(float(log_loss(y_test, p_test)), 4),
    }

    # The scaler is folded into the graph: (x - mean) / scale, then the MLP.
    model = mlp_graph(
        "breast_cancer_mlp", X.shape[1], mlp_layers(clf), clf.activation, clf.out_activation_,
        [("Sub", scaler.mean_), ("Div", scaler.scale_)], "input", "probabilities",
    )
    onnx.save(model, os.path.join(HERE, "model.onnx"))

    manifest = {
        "name": "breast-cancer",
        "version": VERSION,
        "description": "Malignant or benign breast mass from 30 measurements of cell nuclei (MLP, 32 hidden units).",
        "file": "model.onnx",
        "inputTensor": "input",
        "input": {"kind": "tabular", "features": [{"name": n, "type": "float"} for n in names]},
        "output": {"kind": "classification", "labels": labels, "tensor": "probabilities"},
        "training": {
            "dataset": "scikit-learn load_breast_cancer (UCI Wisconsin Diagnostic Breast Cancer)",
            "algorithm": "StandardScaler + MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3)",
            "framework": "scikit-learn " + __import__("sklearn").__version__,
            "trainRows": int(len(X_train)),
            "testRows": int(len(X_test)),
            "split": f"stratified 80/20, random_state={SEED}",
            "metrics": metrics,
        },
    }
    write_json(os.path.join(HERE, "model.json"), manifest)
    write_json(os.path.join(HERE, "parity.json"), parity(X_test, predict, proba, labels))
    write_json(os.path.join(HERE, "baseline.json"), baseline(X_train, y_train, names, labels))
    print("breast-cancer", metrics)


if __name__ == "__main__":
    main()
