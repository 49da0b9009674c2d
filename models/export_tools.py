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


def distribution(values):
    """Summary statistics and decile bins of numbers (a feature's column, or a regressor's predictions)."""
    col = np.asarray(values).astype(np.float64)
    edges = np.quantile(col, np.linspace(0, 1, BINS + 1)[1:-1])
    # Bin i holds values v with edges[i-1] < v <= edges[i]; the first and last bins are open-ended.
    idx = np.searchsorted(edges, col, side="left")
    counts = np.bincount(idx, minlength=BINS)
    return {
        "mean": float(col.mean()),
        "std": float(col.std()),
        "min": float(col.min()),
        "max": float(col.max()),
        "edges": [float(e) for e in edges],
        "proportions": [float(c) / len(col) for c in counts],
    }


def feature_baselines(X, feature_names):
    return [{"name": fname, **distribution(X[:, j])} for j, fname in enumerate(feature_names)]


def baseline(X, y, feature_names, labels):
    """Training statistics the drift monitor compares live inputs with (shape documented in README.md)."""
    priors = {labels[k]: float(np.mean(y == k)) for k in range(len(labels))}
    return {"rows": int(len(X)), "bins": BINS, "features": feature_baselines(X, feature_names), "classPriors": priors}


def regression_baseline(X, predictions, feature_names):
    """A regressor's baseline: the features, and its predicted values on the training rows binned the same way."""
    return {"rows": int(len(X)), "bins": BINS, "features": feature_baselines(X, feature_names), "prediction": distribution(predictions)}


def classification_evaluation(y_true, y_pred):
    """Held-out accuracy and macro-averaged F1: the reference the quality alerts measure live feedback against."""
    from sklearn.metrics import accuracy_score, f1_score
    return {"rows": int(len(y_true)), "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
            "macroF1": round(float(f1_score(y_true, y_pred, average="macro")), 4)}


def regression_evaluation(y_true, y_pred):
    """Held-out mean absolute and root-mean-square error."""
    err = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    return {"rows": int(len(err)), "mae": round(float(np.mean(np.abs(err))), 4), "rmse": round(float(np.sqrt(np.mean(err ** 2))), 4)}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def regression_parity(X, predict, n=50):
    """Held-out inputs with the framework's own predicted values."""
    X = X[:n]
    return {"rows": [{"input": [float(v) for v in row], "value": float(p)} for row, p in zip(X, predict(X))]}


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


# ---------------------------------------------------------------------------------------------------
# Converter-style graphs: the ai.onnx.ml operators and output names skl2onnx and onnxmltools write
# (TreeEnsembleClassifier/Regressor, LinearClassifier, Scaler, OneHotEncoder, ZipMap), so models built
# here look to the server exactly like converted ones.

ML_DOMAIN = "ai.onnx.ml"


def ml_model(graph, opset=15, ml_opset=1):
    """A ModelProto importing the default and the ai.onnx.ml domains, as the converters write it."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(ML_DOMAIN, ml_opset)],
                              producer_name="mlship-export-tools")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _tree_nodes(tree, tree_id, attrs):
    """Appends one fitted scikit-learn tree's nodes (the skl2onnx layout: x <= threshold goes left)."""
    t = tree.tree_
    for node in range(t.node_count):
        leaf = t.children_left[node] == -1
        attrs["nodes_treeids"].append(tree_id)
        attrs["nodes_nodeids"].append(node)
        attrs["nodes_featureids"].append(0 if leaf else int(t.feature[node]))
        attrs["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
        attrs["nodes_values"].append(0.0 if leaf else float(t.threshold[node]))
        attrs["nodes_truenodeids"].append(0 if leaf else int(t.children_left[node]))
        attrs["nodes_falsenodeids"].append(0 if leaf else int(t.children_right[node]))
        attrs["nodes_hitrates"].append(1.0)
        attrs["nodes_missing_value_tracks_true"].append(0)
    return t


def _empty_tree_attrs():
    keys = ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
            "nodes_truenodeids", "nodes_falsenodeids", "nodes_hitrates", "nodes_missing_value_tracks_true"]
    return {k: [] for k in keys}


def class_label_attr(classes, int_attr="classlabels_int64s"):
    """classlabels_int64s (LinearClassifier: classlabels_ints) for integer classes, classlabels_strings
    otherwise (as skl2onnx decides)."""
    if all(isinstance(c, (int, np.integer)) for c in classes):
        return {int_attr: [int(c) for c in classes]}
    return {"classlabels_strings": [str(c) for c in classes]}


def forest_classifier_node(forest, classes, input_name, label_name, proba_name):
    """TreeEnsembleClassifier of a fitted RandomForestClassifier / DecisionTreeClassifier: each leaf votes
    its class shares divided by the number of trees, so the sum is predict_proba."""
    trees = getattr(forest, "estimators_", [forest])
    attrs = _empty_tree_attrs()
    attrs.update({"class_treeids": [], "class_nodeids": [], "class_ids": [], "class_weights": []})
    for tree_id, tree in enumerate(trees):
        t = _tree_nodes(tree, tree_id, attrs)
        for node in range(t.node_count):
            if t.children_left[node] != -1:
                continue
            value = t.value[node][0]
            share = value / value.sum()
            for k, w in enumerate(share):
                attrs["class_treeids"].append(tree_id)
                attrs["class_nodeids"].append(node)
                attrs["class_ids"].append(k)
                attrs["class_weights"].append(float(w) / len(trees))
    attrs.update(class_label_attr(classes))
    return helper.make_node("TreeEnsembleClassifier", [input_name], [label_name, proba_name], domain=ML_DOMAIN,
                            post_transform="NONE", name="TreeEnsembleClassifier", **attrs)


def forest_regressor_node(forest, input_name, output_name):
    """TreeEnsembleRegressor of a fitted RandomForestRegressor: the average of the trees' leaf values."""
    trees = getattr(forest, "estimators_", [forest])
    attrs = _regressor_tree_attrs(trees, lambda leaf: leaf / len(trees))
    return helper.make_node("TreeEnsembleRegressor", [input_name], [output_name], domain=ML_DOMAIN, n_targets=1,
                            post_transform="NONE", aggregate_function="SUM", name="TreeEnsembleRegressor", **attrs)


def _regressor_tree_attrs(trees, weight):
    """TreeEnsembleRegressor attributes of fitted trees: their nodes, and each leaf's value through `weight`
    (a forest averages its trees; gradient boosting scales each by the learning rate)."""
    attrs = _empty_tree_attrs()
    attrs.update({"target_treeids": [], "target_nodeids": [], "target_ids": [], "target_weights": []})
    for tree_id, tree in enumerate(trees):
        t = _tree_nodes(tree, tree_id, attrs)
        for node in range(t.node_count):
            if t.children_left[node] == -1:
                attrs["target_treeids"].append(tree_id)
                attrs["target_nodeids"].append(node)
                attrs["target_ids"].append(0)
                attrs["target_weights"].append(weight(float(t.value[node][0][0])))
    return attrs


def gradient_boosting_regressor_node(gbr, input_name, output_name):
    """TreeEnsembleRegressor of a fitted GradientBoostingRegressor as skl2onnx writes it: the initial
    estimate (the init estimator's constant) as base_values, plus each tree's leaf value times the
    learning rate."""
    if gbr.init_ == "zero":
        base = 0.0
    elif hasattr(gbr.init_, "constant_"):
        base = float(np.ravel(gbr.init_.constant_)[0])
    else:
        raise ValueError("only a constant initial estimate (the default DummyRegressor, or init='zero') fits base_values")
    attrs = _regressor_tree_attrs(gbr.estimators_[:, 0], lambda leaf: leaf * gbr.learning_rate)
    return helper.make_node("TreeEnsembleRegressor", [input_name], [output_name], domain=ML_DOMAIN, n_targets=1, base_values=[base],
                            post_transform="NONE", aggregate_function="SUM", name="TreeEnsembleRegressor", **attrs)


def linear_classifier_node(clf, input_name, label_name, proba_name):
    """LinearClassifier of a fitted LogisticRegression as skl2onnx writes it: binary models get the
    rows [-w, w] with LOGISTIC (so the two scores are 1-p and p), multinomial ones SOFTMAX."""
    coef = np.asarray(clf.coef_, dtype=np.float64)
    intercept = np.asarray(clf.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:
        coef = np.vstack([-coef, coef])
        intercept = np.concatenate([-intercept, intercept])
        post = "LOGISTIC"
    else:
        post = "SOFTMAX"
    return helper.make_node("LinearClassifier", [input_name], [label_name, proba_name], domain=ML_DOMAIN,
                            coefficients=[float(v) for v in coef.ravel()], intercepts=[float(v) for v in intercept],
                            multi_class=0, post_transform=post, name="LinearClassifier", **class_label_attr(list(clf.classes_), "classlabels_ints"))


def scaler_node(scaler, input_name, output_name):
    """Scaler of a fitted StandardScaler: (x - offset) * scale."""
    return helper.make_node("Scaler", [input_name], [output_name], domain=ML_DOMAIN, name="Scaler",
                            offset=[float(v) for v in scaler.mean_], scale=[float(1 / v) for v in scaler.scale_])


def zipmap_node(classes, input_name, output_name="output_probability"):
    """ZipMap: the probability tensor as a sequence of {class label: probability} maps (skl2onnx default)."""
    return helper.make_node("ZipMap", [input_name], [output_name], domain=ML_DOMAIN, name="ZipMap", **class_label_attr(classes))


def zipmap_output(classes, name="output_probability"):
    key = TensorProto.INT64 if "classlabels_int64s" in class_label_attr(classes) else TensorProto.STRING
    # onnx 1.12's helper has no make_map_type_proto: fill the map type by hand.
    value = onnx.TypeProto()
    value.map_type.key_type = key
    value.map_type.value_type.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    return helper.make_value_info(name, helper.make_sequence_type_proto(value))


def label_output(classes, name="output_label"):
    key = TensorProto.INT64 if "classlabels_int64s" in class_label_attr(classes) else TensorProto.STRING
    return helper.make_tensor_value_info(name, key, [None])


def one_hot_nodes(column, categories, output_name):
    """skl2onnx's OneHotEncoder for one string column [N, 1]: OneHotEncoder gives [N, 1, C], Reshape to [N, C]."""
    shape = output_name + "_shape"
    return [
        helper.make_node("OneHotEncoder", [column], [output_name + "_3d"], domain=ML_DOMAIN, name="OneHotEncoder_" + column,
                         cats_strings=[str(c) for c in categories], zeros=1),
        helper.make_node("Reshape", [output_name + "_3d", shape], [output_name], name="Reshape_" + column),
    ], [numpy_helper.from_array(np.array([-1, len(categories)], dtype=np.int64), shape)]


def parity_rows(instances, labels, proba, names=None):
    """Parity vectors: the instances as the API takes them, with the framework's own label and probabilities."""
    rows = []
    for i, inst in enumerate(instances):
        rows.append({"input": inst, "label": names[int(labels[i])] if names else str(labels[i]), "probabilities": [float(p) for p in proba[i]]})
    return rows


def column_baseline(name, values):
    """One baseline feature: decile bins for numbers, category shares (then "any other value") for strings and bools."""
    values = np.asarray(values)
    if values.dtype.kind in "fiu":
        return {"name": name, **distribution(values)}
    text = np.array(["true" if v is True or v is np.True_ else "false" if v is False or v is np.False_ else str(v) for v in values.tolist()])
    categories, counts = np.unique(text, return_counts=True)
    return {"name": name, "kind": "categorical", "categories": [str(c) for c in categories],
            "proportions": [float(c) / len(text) for c in counts] + [0.0]}


def columns_baseline(columns, y, labels):
    """baseline.json for a model fed by named columns of any type (a ColumnTransformer pipeline)."""
    priors = {str(l): float(np.mean(np.asarray(y) == l)) for l in labels}
    return {"rows": int(len(y)), "bins": BINS, "features": [column_baseline(n, v) for n, v in columns], "classPriors": priors}
