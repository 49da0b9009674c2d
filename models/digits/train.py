"""Trains the digits example model and writes model.onnx, model.json, parity.json, baseline.json.

Run from the repository root:  /usr/bin/python3 models/digits/train.py
Data: scikit-learn's load_digits (1,797 8x8 grayscale images of handwritten digits, pixel values 0..16),
or the CSV files of SM_CHANNEL_TRAIN (64 pixel columns px_<row>_<col> and `label`: 0..9).
SageMaker script mode: see models/script_mode.py (`--help` lists the hyperparameters).
"""
import os
import sys

import numpy as np
import onnx
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.neural_network import MLPClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import script_mode  # noqa: E402
from export_tools import baseline, classification_evaluation, mlp_graph, mlp_layers, parity, write_json  # noqa: E402

PIXEL_MAX = 16.0
LABELS = [str(d) for d in range(10)]
# The baseline's and the training CSV's names of the 64 pixels, row-major.
PIXELS = [f"px_{r}_{c}" for r in range(8) for c in range(8)]


def parse_args(argv=None):
    p = script_mode.parser(__doc__)
    p.add_argument("--hidden-units", type=int, default=64, help="units of the MLP's hidden layer (default: 64)")
    p.add_argument("--alpha", type=float, default=1e-3, help="L2 penalty of the MLP (default: 1e-3)")
    p.add_argument("--max-iter", type=int, default=2000, help="most training epochs of the MLP (default: 2000)")
    return p.parse_args(argv)


def bundled():
    data = load_digits()
    return data.data, data.target


def read(folder):
    table = script_mode.Table(folder, PIXELS, script_mode.LABEL_COLUMN)
    return table.numbers(PIXELS), table.label_indices(LABELS), table.describe()


def export_dataset(path):
    X, y = bundled()
    rows = [[script_mode.number(v) for v in x] + [LABELS[k]] for x, k in zip(X, y)]
    script_mode.write_dataset(path, PIXELS + [script_mode.LABEL_COLUMN], rows)


def main(args):
    if args.export_dataset:
        return export_dataset(args.export_dataset)
    X_train, X_test, y_train, y_test, dataset, split = script_mode.training_data(
        read, bundled, "scikit-learn load_digits (UCI Optical Recognition of Handwritten Digits, 8x8)", args.test_size, args.seed,
        stratify=True)

    clf = MLPClassifier(hidden_layer_sizes=(args.hidden_units,), alpha=args.alpha, max_iter=args.max_iter, random_state=args.seed)
    clf.fit(X_train / PIXEL_MAX, y_train)
    if len(clf.classes_) != len(LABELS):
        raise SystemExit(f"The training rows hold {len(clf.classes_)} of the 10 digits; the model answers all ten.")

    def predict(rows):
        return clf.predict(rows / PIXEL_MAX)

    def proba(rows):
        return clf.predict_proba(rows / PIXEL_MAX)

    metrics = {
        "accuracy": round(float(accuracy_score(y_test, predict(X_test))), 4),
        "logLoss": round(float(log_loss(y_test, proba(X_test), labels=list(range(10)))), 4),
    }
    evaluation = classification_evaluation(y_test, predict(X_test))

    out = script_mode.output_dir(HERE)
    # The model takes pixels in 0..16 (the data set's scale) and divides by 16 itself.
    n = len(PIXELS)
    model = mlp_graph(
        "digits_mlp", n, mlp_layers(clf), clf.activation, clf.out_activation_,
        [("Div", np.full(n, PIXEL_MAX))], "pixels", "probabilities",
    )
    onnx.save(model, os.path.join(out, "model.onnx"))

    manifest = {
        "name": "digits",
        "version": args.model_version,
        "description": f"Handwritten digit 0-9 from an 8x8 grayscale image (MLP, {args.hidden_units} hidden units).",
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
        "output": {"kind": "classification", "labels": LABELS, "tensor": "probabilities"},
        "training": {
            "dataset": dataset,
            "algorithm": f"MLPClassifier(hidden_layer_sizes=({args.hidden_units},), alpha={script_mode.sci(args.alpha)}) on pixels / 16",
            "framework": "scikit-learn " + __import__("sklearn").__version__,
            "trainRows": int(len(X_train)),
            "testRows": int(len(X_test)),
            "split": split,
            "metrics": metrics,
        },
    }
    write_json(os.path.join(out, "model.json"), manifest)
    write_json(os.path.join(out, "parity.json"), parity(X_test, predict, proba, LABELS))
    write_json(os.path.join(out, "baseline.json"), {**baseline(X_train, y_train, PIXELS, LABELS), "evaluation": evaluation})
    if script_mode.writes_metrics():
        write_json(os.path.join(out, script_mode.METRICS_FILE), evaluation)
    print("digits", metrics)


if __name__ == "__main__":
    main(parse_args())
