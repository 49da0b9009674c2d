"""Shared helpers of the example models' training scripts.

No ONNX converter for scikit-learn ships in Debian, so the graph is built from the fitted weights
with onnx.helper. Each helper writes one of the files that sit beside model.onnx.
"""
import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
BINS = 10


def mlp_graph(name, n_features, layers, activation, out_activation, pre_ops, input_name, output_name):
    """ONNX graph of a fitted scikit-learn MLP.

    layers: list of (weights [in, out], bias [out]) as numpy arrays.
    pre_ops: list of ("Sub" | "Div" | "Mul", constant vector) applied to the input first (folded scaler).
    out_activation: "logistic" (binary: one output column p, answered as [1 - p, p]) or "softmax".
    """
    nodes, inits = [], []
    x = input_name

    def const(tag, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), tag))
        return tag

    for i, (op, vec) in enumerate(pre_ops):
        out = f"pre{i}"
        nodes.append(helper.make_node(op, [x, const(f"pre{i}_c", vec)], [out]))
        x = out

    for i, (w, b) in enumerate(layers):
        mm, z = f"mm{i}", f"z{i}"
        nodes.append(helper.make_node("MatMul", [x, const(f"W{i}", w)], [mm]))
        nodes.append(helper.make_node("Add", [mm, const(f"B{i}", b)], [z]))
        x = z
        if i < len(layers) - 1:
            a = f"a{i}"
            op = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid"}[activation]
            nodes.append(helper.make_node(op, [x], [a]))
            x = a

    n_out = layers[-1][0].shape[1]
    if out_activation == "logistic":
        nodes.append(helper.make_node("Sigmoid", [x], ["p1"]))
        nodes.append(helper.make_node("Sub", [const("one", [1.0]), "p1"], ["p0"]))
        nodes.append(helper.make_node("Concat", ["p0", "p1"], [output_name], axis=1))
        n_classes = 2
    else:
        nodes.append(helper.make_node("Softmax", [x], [output_name], axis=1))
        n_classes = n_out

    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", n_features])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N", n_classes])],
        inits,
    )
    model = helper.make_model(graph, producer_name="mlship-train", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def mlp_layers(clf):
    return [(np.asarray(w), np.asarray(b)) for w, b in zip(clf.coefs_, clf.intercepts_)]


def baseline(X, y, feature_names, labels):
    """Training statistics the drift monitor compares live inputs with (shape documented in README.md)."""
    features = []
    qs = np.linspace(0, 1, BINS + 1)[1:-1]
    for j, fname in enumerate(feature_names):
        col = X[:, j].astype(np.float64)
        edges = np.quantile(col, qs)
        # Bin i holds values v with edges[i-1] < v <= edges[i]; the first and last bins are open-ended.
        idx = np.searchsorted(edges, col, side="left")
        counts = np.bincount(idx, minlength=BINS)
        features.append({
            "name": fname,
            "mean": float(col.mean()),
            "std": float(col.std()),
            "min": float(col.min()),
            "max": float(col.max()),
            "edges": [float(e) for e in edges],
            "proportions": [float(c) / len(col) for c in counts],
        })
    priors = {labels[k]: float(np.mean(y == k)) for k in range(len(labels))}
    return {"rows": int(len(X)), "bins": BINS, "features": features, "classPriors": priors}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def parity(X, clf_predict, clf_proba, labels, n=50):
    """Held-out inputs with scikit-learn's own labels and probabilities."""
    X = X[:n]
    pred = clf_predict(X)
    proba = clf_proba(X)
    return {
        "labels": labels,
        "rows": [
            {
                "input": [float(v) for v in X[i]],
                "label": labels[int(pred[i])],
                "probabilities": [float(p) for p in proba[i]],
            }
            for i in range(len(X))
        ],
    }
