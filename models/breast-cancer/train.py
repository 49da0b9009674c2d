"""Trains the breast-cancer example model and writes model.onnx, model.json, parity.json, baseline.json.

Run from the repository root:  /usr/bin/python3 models/breast-cancer/train.py
Data: scikit-learn's load_breast_cancer (Wisconsin Diagnostic Breast Cancer, 569 rows, 30 features), or
the CSV files of SM_CHANNEL_TRAIN (the 30 feature columns and `label`: malignant or benign).
SageMaker script mode: see models/script_mode.py (`--help` lists the hyperparameters).
"""
import os
import re
import sys

import onnx
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import script_mode  # noqa: E402
from export_tools import baseline, classification_evaluation, mlp_graph, mlp_layers, parity, write_json  # noqa: E402

LABELS = ["malignant", "benign"]  # the data set's target codes 0 and 1


def snake(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


FEATURES = [snake(n) for n in load_breast_cancer().feature_names]


def parse_args(argv=None):
    p = script_mode.parser(__doc__)
    p.add_argument("--hidden-units", type=int, default=32, help="units of the MLP's hidden layer (default: 32)")
    p.add_argument("--alpha", type=float, default=1e-3, help="L2 penalty of the MLP (default: 1e-3)")
    p.add_argument("--max-iter", type=int, default=2000, help="most training epochs of the MLP (default: 2000)")
    return p.parse_args(argv)


def bundled():
    data = load_breast_cancer()
    assert [str(n) for n in data.target_names] == LABELS
    return data.data, data.target


def read(folder):
    table = script_mode.Table(folder, FEATURES, script_mode.LABEL_COLUMN)
    return table.numbers(FEATURES), table.label_indices(LABELS), table.describe()


def export_dataset(path):
    X, y = bundled()
    rows = [[script_mode.number(v) for v in x] + [LABELS[k]] for x, k in zip(X, y)]
    script_mode.write_dataset(path, FEATURES + [script_mode.LABEL_COLUMN], rows)


def main(args):
    if args.export_dataset:
        return export_dataset(args.export_dataset)
    X_train, X_test, y_train, y_test, dataset, split = script_mode.training_data(
        read, bundled, "scikit-learn load_breast_cancer (UCI Wisconsin Diagnostic Breast Cancer)", args.test_size, args.seed, stratify=True)

    scaler = StandardScaler().fit(X_train)
    clf = MLPClassifier(hidden_layer_sizes=(args.hidden_units,), alpha=args.alpha, max_iter=args.max_iter, random_state=args.seed)
    clf.fit(scaler.transform(X_train), y_train)

    def predict(rows):
        return clf.predict(scaler.transform(rows))

    def proba(rows):
        return clf.predict_proba(scaler.transform(rows))

    p_test = proba(X_test)
    metrics = {"accuracy": round(float(accuracy_score(y_test, predict(X_test))), 4)}
    if len(set(y_test)) == 2:  # ROC AUC needs both classes among the held-out rows
        metrics["rocAuc"] = round(float(roc_auc_score(y_test, p_test[:, 1])), 4)
    metrics["logLoss"] = round(float(log_loss(y_test, p_test, labels=[0, 1])), 4)
    evaluation = classification_evaluation(y_test, predict(X_test))

    out = script_mode.output_dir(HERE)
    # The scaler is folded into the graph: (x - mean) / scale, then the MLP.
    model = mlp_graph(
        "breast_cancer_mlp", X_train.shape[1], mlp_layers(clf), clf.activation, clf.out_activation_,
        [("Sub", scaler.mean_), ("Div", scaler.scale_)], "input", "probabilities",
    )
    onnx.save(model, os.path.join(out, "model.onnx"))

    manifest = {
        "name": "breast-cancer",
        "version": args.model_version,
        "description": f"Malignant or benign breast mass from 30 measurements of cell nuclei (MLP, {args.hidden_units} hidden units).",
        "file": "model.onnx",
        "inputTensor": "input",
        "input": {"kind": "tabular", "features": [{"name": n, "type": "float"} for n in FEATURES]},
        "output": {"kind": "classification", "labels": LABELS, "tensor": "probabilities"},
        "training": {
            "dataset": dataset,
            "algorithm": f"StandardScaler + MLPClassifier(hidden_layer_sizes=({args.hidden_units},), alpha={script_mode.sci(args.alpha)})",
            "framework": "scikit-learn " + __import__("sklearn").__version__,
            "trainRows": int(len(X_train)),
            "testRows": int(len(X_test)),
            "split": split,
            "metrics": metrics,
        },
    }
    write_json(os.path.join(out, "model.json"), manifest)
    write_json(os.path.join(out, "parity.json"), parity(X_test, predict, proba, LABELS))
    write_json(os.path.join(out, "baseline.json"), {**baseline(X_train, y_train, FEATURES, LABELS), "evaluation": evaluation})
    if script_mode.writes_metrics():
        write_json(os.path.join(out, script_mode.METRICS_FILE), evaluation)
    print("breast-cancer", metrics)


if __name__ == "__main__":
    main(parse_args())
