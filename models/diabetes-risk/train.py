"""Trains the diabetes-risk example model and writes model.onnx, model.json, parity.json, baseline.json.

Run from the repository root:  /usr/bin/python3 models/diabetes-risk/train.py

Data: scikit-learn's load_diabetes(scaled=False) (Efron et al., 442 patients: age, sex, BMI, blood
pressure and six blood serum measurements; target: disease progression one year later). The label is
"high" when progression exceeds 140 (about the median), "low" otherwise.

The model is the tabular pipeline a data scientist writes for a table with a categorical column: a ColumnTransformer (StandardScaler
on the numeric columns, OneHotEncoder on the categorical `sex` column) and a LogisticRegression. The ONNX
graph is the one skl2onnx writes for that pipeline when given one input per DataFrame column:
each column an [N, 1] input (float, or string for `sex`), Concat + Scaler, OneHotEncoder + Reshape,
LinearClassifier, a label output and ZipMap probabilities keyed by the string labels.

SageMaker script mode: see models/script_mode.py (`--help` lists the hyperparameters). A training CSV has
the columns age, bmi, bp, s1..s6 (numbers), sex ("1" or "2") and `label` (high or low).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import script_mode  # noqa: E402
from export_tools import (classification_evaluation, columns_baseline, label_output, linear_classifier_node, ml_model,  # noqa: E402
                          one_hot_nodes, scaler_node, write_json, zipmap_node, zipmap_output)

NUMERIC = ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
FEATURES = NUMERIC + ["sex"]
LABELS = ["high", "low"]
THRESHOLD = 140


def parse_args(argv=None):
    p = script_mode.parser(__doc__)
    p.add_argument("--c", type=float, default=1.0, help="inverse L2 regularisation strength C of the LogisticRegression (default: 1.0)")
    p.add_argument("--max-iter", type=int, default=2000, help="most solver iterations of the LogisticRegression (default: 2000)")
    return p.parse_args(argv)


def table(numeric, sex):
    """The model's input rows: the numeric columns, then sex as text (one object array, as a DataFrame gives)."""
    return np.concatenate([numeric.astype(object), sex.reshape(-1, 1).astype(object)], axis=1)


def bundled():
    data = load_diabetes(scaled=False)
    names = list(data.feature_names)  # age, sex, bmi, bp, s1..s6
    raw, progression = data.data, data.target
    # The source codes sex as 1 and 2 without naming them: keep the codes, as text (a category, not a quantity).
    sex = raw[:, names.index("sex")].astype(int).astype(str)
    numeric = np.stack([raw[:, names.index(c)] for c in NUMERIC], axis=1)
    return table(numeric, sex), np.where(progression > THRESHOLD, "high", "low")


def read(folder):
    t = script_mode.Table(folder, FEATURES, script_mode.LABEL_COLUMN)
    return table(t.numbers(NUMERIC), t.strings("sex")), np.array(LABELS)[t.label_indices(LABELS)], t.describe()


def export_dataset(path):
    X, y = bundled()
    rows = [[script_mode.number(v) for v in x[:len(NUMERIC)]] + [str(x[len(NUMERIC)]), label] for x, label in zip(X, y)]
    script_mode.write_dataset(path, FEATURES + [script_mode.LABEL_COLUMN], rows)


def main(args):
    if args.export_dataset:
        return export_dataset(args.export_dataset)
    X_train, X_test, y_train, y_test, dataset, split = script_mode.training_data(
        read, bundled, "scikit-learn load_diabetes(scaled=False) (Efron et al. 2004, 442 patients)", args.test_size, args.seed,
        stratify=True)
    num_idx = list(range(len(NUMERIC)))

    pipe = Pipeline([
        ("columns", ColumnTransformer([("num", StandardScaler(), num_idx), ("cat", OneHotEncoder(), [len(NUMERIC)])])),
        ("clf", LogisticRegression(C=args.c, max_iter=args.max_iter)),
    ]).fit(X_train, y_train)
    scaler = pipe.named_steps["columns"].named_transformers_["num"]
    encoder = pipe.named_steps["columns"].named_transformers_["cat"]
    clf = pipe.named_steps["clf"]
    classes = [str(c) for c in clf.classes_]
    categories = [str(c) for c in encoder.categories_[0]]

    proba = pipe.predict_proba(X_test)
    metrics = {"accuracy": round(float(accuracy_score(y_test, pipe.predict(X_test))), 4)}
    if len(set(y_test)) == 2:  # ROC AUC needs both classes among the held-out rows
        metrics["rocAuc"] = round(float(roc_auc_score(y_test == classes[1], proba[:, 1])), 4)
    metrics["logLoss"] = round(float(log_loss(y_test, proba, labels=classes)), 4)
    evaluation = classification_evaluation(y_test, pipe.predict(X_test))
    out = script_mode.output_dir(HERE)

    onehot, inits = one_hot_nodes("sex", categories, "sex_onehot")
    nodes = [
        helper.make_node("Concat", NUMERIC, ["num_merged"], axis=1, name="Concat_num"),
        scaler_node(scaler, "num_merged", "num_scaled"),
        *onehot,
        helper.make_node("Concat", ["num_scaled", "sex_onehot"], ["transformed"], axis=1, name="Concat_columns"),
        linear_classifier_node(clf, "transformed", "label", "probability_tensor"),
        zipmap_node(classes, "probability_tensor"),
        helper.make_node("Identity", ["label"], ["output_label"]),
    ]
    inputs = [helper.make_tensor_value_info(c, TensorProto.FLOAT, [None, 1]) for c in NUMERIC]
    inputs.append(helper.make_tensor_value_info("sex", TensorProto.STRING, [None, 1]))
    graph = helper.make_graph(nodes, "pipeline_diabetes", inputs, [label_output(classes), zipmap_output(classes)], initializer=inits)
    onnx.save(ml_model(graph), os.path.join(out, "model.onnx"))

    features = [{"name": c, "type": "float"} for c in NUMERIC] + [{"name": "sex", "type": "string", "values": categories}]
    manifest = {
        "name": "diabetes-risk",
        "version": args.model_version,
        "description": "High or low diabetes progression one year ahead from age, sex, BMI, blood pressure and six serum measurements (ColumnTransformer + LogisticRegression).",
        "file": "model.onnx",
        "input": {"kind": "tabular", "features": features},
        "output": {"kind": "classification", "labels": classes, "tensor": "output_probability", "labelTensor": "output_label"},
        "training": {
            "dataset": dataset,
            "target": f"progression after one year > {THRESHOLD} → high, else low",
            "algorithm": "ColumnTransformer(StandardScaler on numeric columns, OneHotEncoder on sex) + LogisticRegression"
                         + ("" if args.c == 1.0 else f"(C={args.c:g})"),
            "framework": "scikit-learn " + __import__("sklearn").__version__,
            "trainRows": int(len(X_train)),
            "testRows": int(len(X_test)),
            "split": split,
            "metrics": metrics,
        },
    }
    write_json(os.path.join(out, "model.json"), manifest)

    rows = []
    test = X_test[:50]
    pred, p = pipe.predict(test), pipe.predict_proba(test)
    for i, r in enumerate(test):
        # Feature values in model.json's order (the golden-set format); {"age": ..., "sex": "2"} works too.
        inst = [float(r[j]) for j in range(len(NUMERIC))] + [str(r[len(NUMERIC)])]
        rows.append({"input": inst, "label": str(pred[i]), "probabilities": [float(v) for v in p[i]]})
    write_json(os.path.join(out, "parity.json"), {"labels": classes, "rows": rows})
    columns = [(c, X_train[:, j].astype(np.float64)) for j, c in enumerate(NUMERIC)] + [("sex", X_train[:, len(NUMERIC)].astype(str))]
    write_json(os.path.join(out, "baseline.json"), {**columns_baseline(columns, y_train, classes), "evaluation": evaluation})
    if script_mode.writes_metrics():
        write_json(os.path.join(out, script_mode.METRICS_FILE), evaluation)
    print("diabetes-risk", metrics)


if __name__ == "__main__":
    main(parse_args())
