"""Trains the diabetes-progression example model and writes model.onnx, model.json, parity.json, baseline.json.

Run from the repository root:  /usr/bin/python3 models/diabetes-progression/train.py

Data: scikit-learn's load_diabetes(scaled=False) (Efron et al., 442 patients: age, sex, BMI, blood
pressure and six blood serum measurements), or the CSV files of SM_CHANNEL_TRAIN (those ten columns and
`target`). Target: the disease progression score one year later (25..346), predicted as a number; the
diabetes-risk example classifies the same patients as high or low instead.

The model is a GradientBoostingRegressor; the ONNX graph is the one skl2onnx writes for it: one float
input [N, 10] (`float_input`), a TreeEnsembleRegressor (the initial estimate as base_values, each leaf
value times the learning rate) and the predicted value `variable` [N, 1].
SageMaker script mode: see models/script_mode.py (`--help` lists the hyperparameters).
"""
import os
import sys

import onnx
from onnx import TensorProto, helper
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import r2_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import script_mode  # noqa: E402
from export_tools import gradient_boosting_regressor_node, ml_model, regression_baseline, regression_evaluation, regression_parity, write_json  # noqa: E402

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
# Whole numbers in the data: age in years, and sex coded 1 or 2 (the source does not name the codes).
INT_FEATURES = {"age", "sex"}


def parse_args(argv=None):
    p = script_mode.parser(__doc__)
    p.add_argument("--n-estimators", type=int, default=100, help="boosting stages (trees) (default: 100)")
    p.add_argument("--learning-rate", type=float, default=0.05, help="shrinkage of each tree's contribution (default: 0.05)")
    p.add_argument("--max-depth", type=int, default=2, help="depth of each tree (default: 2)")
    return p.parse_args(argv)


def bundled():
    data = load_diabetes(scaled=False)
    assert list(data.feature_names) == FEATURES
    return data.data, data.target


def read(folder):
    table = script_mode.Table(folder, FEATURES, script_mode.TARGET_COLUMN)
    return table.numbers(FEATURES), table.numbers([script_mode.TARGET_COLUMN])[:, 0], table.describe()


def export_dataset(path):
    X, y = bundled()
    rows = [[script_mode.number(v) for v in x] + [script_mode.number(t)] for x, t in zip(X, y)]
    script_mode.write_dataset(path, FEATURES + [script_mode.TARGET_COLUMN], rows)


def main(args):
    if args.export_dataset:
        return export_dataset(args.export_dataset)
    X_train, X_test, y_train, y_test, dataset, split = script_mode.training_data(
        read, bundled, "scikit-learn load_diabetes(scaled=False) (Efron et al. 2004, 442 patients)", args.test_size, args.seed,
        stratify=False)

    reg = GradientBoostingRegressor(n_estimators=args.n_estimators, learning_rate=args.learning_rate, max_depth=args.max_depth,
                                    random_state=args.seed).fit(X_train, y_train)
    predicted = reg.predict(X_test)
    evaluation = regression_evaluation(y_test, predicted)
    metrics = {"mae": evaluation["mae"], "rmse": evaluation["rmse"], "r2": round(float(r2_score(y_test, predicted)), 4)}

    out = script_mode.output_dir(HERE)
    graph = helper.make_graph(
        [gradient_boosting_regressor_node(reg, "float_input", "variable")], "gradient_boosting_regressor",
        [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [None, len(FEATURES)])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])],
    )
    onnx.save(ml_model(graph), os.path.join(out, "model.onnx"))

    manifest = {
        "name": "diabetes-progression",
        "version": args.model_version,
        "description": "Diabetes progression score one year ahead (25..346) from age, sex, BMI, blood pressure and six serum measurements (GradientBoostingRegressor).",
        "file": "model.onnx",
        "inputTensor": "float_input",
        "input": {"kind": "tabular", "features": [{"name": f, "type": "int" if f in INT_FEATURES else "float"} for f in FEATURES]},
        "output": {"kind": "regression", "tensor": "variable"},
        "training": {
            "dataset": dataset,
            "target": "quantitative measure of disease progression one year after baseline",
            "algorithm": f"GradientBoostingRegressor(n_estimators={args.n_estimators}, learning_rate={args.learning_rate:g}, max_depth={args.max_depth})",
            "framework": "scikit-learn " + __import__("sklearn").__version__,
            "trainRows": int(len(X_train)),
            "testRows": int(len(X_test)),
            "split": split,
            "metrics": metrics,
        },
    }
    write_json(os.path.join(out, "model.json"), manifest)
    write_json(os.path.join(out, "parity.json"), regression_parity(X_test, reg.predict))
    write_json(os.path.join(out, "baseline.json"),
               {**regression_baseline(X_train, reg.predict(X_train), FEATURES), "evaluation": evaluation})
    if script_mode.writes_metrics():
        write_json(os.path.join(out, script_mode.METRICS_FILE), evaluation)
    print("diabetes-progression", metrics)


if __name__ == "__main__":
    main(parse_args())
