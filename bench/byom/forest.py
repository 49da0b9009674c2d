"""The random forest of the bring-your-own-model benchmark, trained identically by the exporter and by the
Flask baseline: RandomForestClassifier(n_estimators=100) on the breast-cancer data (same split and seed as
models/breast-cancer), exported as skl2onnx exports it (TreeEnsembleClassifier + ZipMap).

  /usr/bin/python3 bench/byom/forest.py OUT_DIR     writes OUT_DIR/model.onnx and model.json
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

SEED = 42


def train():
    data = load_breast_cancer()
    X_train, X_test, y_train, _ = train_test_split(data.data, data.target, test_size=0.2, stratify=data.target, random_state=SEED)
    clf = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1).fit(X_train.astype(np.float32), y_train)
    return clf, X_test, [str(n) for n in data.target_names]


def export(out):
    import onnx
    from onnx import TensorProto, helper
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
    from export_tools import forest_classifier_node, label_output, ml_model, write_json, zipmap_node, zipmap_output

    clf, X_test, names = train()
    classes = [int(c) for c in clf.classes_]
    graph = helper.make_graph(
        [forest_classifier_node(clf, classes, "float_input", "label", "probabilities"), zipmap_node(classes, "probabilities"),
         helper.make_node("Identity", ["label"], ["output_label"])],
        "random_forest", [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [None, X_test.shape[1]])],
        [label_output(classes), zipmap_output(classes)])
    os.makedirs(out, exist_ok=True)
    onnx.save(ml_model(graph), os.path.join(out, "model.onnx"))
    write_json(os.path.join(out, "model.json"), {
        "name": "breast-cancer-forest", "version": "1", "file": "model.onnx", "inputTensor": "float_input",
        "input": {"kind": "tabular", "features": [{"name": f"f{j}", "type": "float"} for j in range(X_test.shape[1])]},
        "output": {"kind": "classification", "labels": names, "tensor": "output_probability", "labelTensor": "output_label"},
    })
    write_json(os.path.join(out, "sample.json"), {"input": [float(v) for v in X_test[0]], "label": names[int(clf.predict(X_test[:1].astype(np.float32))[0])]})


if __name__ == "__main__":
    export(sys.argv[1])
