"""Flask + gunicorn serving the benchmark's random forest with scikit-learn (the same forest forest.py
exports: same data, split and seed). Run:
  OPENBLAS_NUM_THREADS=1 gunicorn -w 2 -k gthread --threads 4 -b 127.0.0.1:8081 --chdir bench/byom flask_forest:app
"""
import numpy as np
from flask import Flask, jsonify, request

from forest import train

model, _, labels = train()
app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify(status="ok")


@app.post("/invocations")
def invocations():
    rows = np.asarray(request.get_json(force=True)["instances"], dtype=np.float32)
    proba = model.predict_proba(rows)
    return jsonify(predictions=[{"label": labels[int(np.argmax(p))], "probabilities": {labels[j]: float(p[j]) for j in range(len(labels))}} for p in proba])
