"""The usual course baseline: Flask + gunicorn serving the breast-cancer model with scikit-learn.

Trains the same pipeline as models/breast-cancer/train.py at start (same data, split and seed), then
answers POST /invocations {"instances": [[30 numbers], ...]} with labels and probabilities.
Run: OPENBLAS_NUM_THREADS=1 gunicorn -w 2 -k gthread --threads 4 -b 127.0.0.1:8081 --chdir bench/container flask_app:app
"""
import numpy as np
from flask import Flask, jsonify, request
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 42

data = load_breast_cancer()
X_train, _, y_train, _ = train_test_split(data.data, data.target, test_size=0.2, stratify=data.target, random_state=SEED)
model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3, max_iter=2000, random_state=SEED))
model.fit(X_train, y_train)
labels = [str(n) for n in data.target_names]

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify(status="ok")


@app.post("/invocations")
def invocations():
    body = request.get_json(force=True)
    rows = np.asarray(body["instances"], dtype=np.float64)
    proba = model.predict_proba(rows)
    predictions = [
        {"label": labels[int(np.argmax(p))], "probabilities": {labels[j]: float(p[j]) for j in range(len(labels))}}
        for p in proba
    ]
    return jsonify(predictions=predictions)
