"""Trains the digits example model and writes model.onnx, model.json, parity.json, baseline.json.

Run from the repository root:  /usr/bin/python3 models/digits/train.py
Data: scikit-learn's load_digits (1,797 8x8 grayscale images of handwritten digits, pixel values 0..16).
"""
import os
import sys

import numpy as np
import onnx
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from export_tools import baseline, mlp_graph, mlp_layers, parity, write_json  # noqa: E402

SEED = 42
VERSION = "1.0.0"
PIXEL_MAX = 16.0


def main():
    data = load_digits()
    X, y = data.data, data.target
    labels = [str(d) for d in data.target_names]
    names = [f"px_{r}_{c}" for r in range(8) for c in range(8)]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=SEED)

    clf = MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=2000, random_state=SEED)
    clf.fit(X_train / PIXEL_MAX, y_train)

    def predict(rows):
        return clf.predict(rows / PIXEL_MAX)

    def proba(rows):
        return clf.predict_proba(rows / PIXEL_MAX)

    metrics = {
        "accuracy": round(float(accuracy_score(y_test, predict(X_test))), 4),
        "logLoss": round(float(log_loss(y_test, proba(X_test))), 4),
    }

    # The model takes pixels in 0..16 (the data set's scale) and divides by 16 itself.
    model = mlp_graph(
        "digits_mlp", X.shape[1], mlp_layers(clf), clf.activation, clf.out_activation_,
        [("Div", np.full(X.shape[1], PIXEL_MAX))], "pixels", "probabilities",
    )
    onnx.save(model, os.path.join(HERE, "model.onnx"))

    manifest = {
        "name": "digits",
        "version": VERSION,
        "description": "Handwritten digit 0-9 from an 8x8 grayscale image (MLP, 64 hidden units).",
        "file": "model.onnx",
        "inputTensor": "pixels",
        "input": {
            "kind": "image",
            "width": 8,
            "height": 8,
            "channels": 1,
            # A 0..255 PNG/JPEG pixel maps to the data set's 0..16 (white ink on black, as in the data).
            "preprocess": {"scale": PIXEL_MAX / 255, "mean": [0], "std": [1], "invert": False},
            "layout": "flat",
        },
        "output": {"kind": "classification", "labels": labels, "tensor": "probabilities"},
        "training": {
            "dataset": "scikit-learn load_digits (UCI Optical Recognition of Handwritten Digits, 8x8)",
            "algorithm": "MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3) on pixels / 16",
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
    print("digits", metrics)


if __name__ == "__main__":
    main()
