"""SageMaker's script-mode contract for the example models' training scripts, so one script trains on a
laptop, in CI and in a SageMaker training job.

- Hyperparameters arrive as command-line arguments (`--max-iter 500`); each script's defaults are the
  values its committed model was trained with.
- Data: when SM_CHANNEL_TRAIN names a folder, the training rows are the CSV files in it (read in name
  order); otherwise the script loads the data set scikit-learn bundles. When SM_CHANNEL_VALIDATION names
  a folder, its CSV files are the held-out rows; otherwise a seeded split of the training rows is held
  out, as for the committed models.
- A CSV file has a header row: the manifest's feature names (any order) and the answer column, named
  `label` for a classifier (the class label as model.json names it) and `target` for a regressor.
- Output: into SM_MODEL_DIR when it is set (with metrics.json, the held-out metrics), otherwise into
  the model's own folder.

`--export-dataset PATH` writes the bundled data set in that CSV shape and exits: fed back through
SM_CHANNEL_TRAIN it trains the same model (same split, same weights, same parity.json).
"""
import argparse
import csv
import math
import os

import numpy as np
from sklearn.model_selection import train_test_split

TRAIN_CHANNEL = "SM_CHANNEL_TRAIN"
VALIDATION_CHANNEL = "SM_CHANNEL_VALIDATION"
MODEL_DIR = "SM_MODEL_DIR"
LABEL_COLUMN = "label"
TARGET_COLUMN = "target"
METRICS_FILE = "metrics.json"


def parser(description):
    """An argument parser with the options every training script takes."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=42, help="random seed of the held-out split and the model (default: 42)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="share of the training rows held out when no validation channel is given (default: 0.2)")
    p.add_argument("--model-version", default="1.0.0", help="version written into model.json (default: 1.0.0)")
    p.add_argument("--export-dataset", metavar="PATH",
                   help="write the bundled data set as a training CSV (header: features, then the answer column) and exit")
    return p


def output_dir(model_folder):
    """Where the model files go: SM_MODEL_DIR in a training job, the model's own folder otherwise."""
    out = os.environ.get(MODEL_DIR) or model_folder
    os.makedirs(out, exist_ok=True)
    return out


def writes_metrics():
    """metrics.json is a training job's output; the committed model folder keeps its metrics in baseline.json."""
    return bool(os.environ.get(MODEL_DIR))


def sci(x):
    """A hyperparameter in short scientific notation, as the algorithm texts write it (0.001 -> 1e-3)."""
    mantissa, exp = f"{x:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exp)}"


def split_text(test_size, seed, stratified):
    test = round(test_size * 100)
    return f"{'stratified ' if stratified else ''}{100 - test}/{test}, random_state={seed}"


class Table:
    """The rows of a channel's CSV files, cells as text, columns by name."""

    def __init__(self, folder, features, answer):
        self.folder = folder
        self.files = sorted(f for f in os.listdir(folder) if f.lower().endswith(".csv") and os.path.isfile(os.path.join(folder, f)))
        if not self.files:
            raise SystemExit(f"No .csv file in {folder}: a channel holds CSV files with a header row ({', '.join(features)}, {answer}).")
        wanted = list(features) + [answer]
        self.columns = {name: [] for name in wanted}
        self.where = []  # (file, line) of each row, for error messages
        for name in self.files:
            path = os.path.join(folder, name)
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header is None:
                    raise SystemExit(f"{path} is empty: it needs a header row ({', '.join(wanted)}).")
                header = [h.strip() for h in header]
                missing = [c for c in wanted if c not in header]
                extra = [c for c in header if c not in wanted]
                if missing or extra or len(set(header)) != len(header):
                    raise SystemExit(f"{path}: the header must name each of {', '.join(wanted)} once"
                                     + (f"; missing: {', '.join(missing)}" if missing else "")
                                     + (f"; not a column of this model: {', '.join(extra)}" if extra else "") + ".")
                index = [header.index(c) for c in wanted]
                for row in reader:
                    if not row or (len(row) == 1 and row[0].strip() == ""):
                        continue
                    if len(row) != len(header):
                        raise SystemExit(f"{path} line {reader.line_num}: {len(row)} cells, the header has {len(header)}.")
                    for c, i in zip(wanted, index):
                        self.columns[c].append(row[i])
                    self.where.append((path, reader.line_num))
        if not self.where:
            raise SystemExit(f"The CSV files in {folder} hold a header but no rows.")

    def __len__(self):
        return len(self.where)

    def numbers(self, names):
        """The named columns as a float64 matrix [rows, len(names)]; a cell that is not a finite number stops the run."""
        out = np.empty((len(self), len(names)), dtype=np.float64)
        for j, name in enumerate(names):
            for i, cell in enumerate(self.columns[name]):
                try:
                    v = float(cell)
                except ValueError:
                    v = math.nan
                if not math.isfinite(v):
                    path, line = self.where[i]
                    raise SystemExit(f"{path} line {line}: {name} is {cell!r}, not a finite number.")
                out[i, j] = v
        return out

    def strings(self, name):
        return np.array([c.strip() for c in self.columns[name]], dtype=object)

    def label_indices(self, labels, name=LABEL_COLUMN):
        """A classifier's answers as indices into its labels (their order fixes the model's class order)."""
        index = {l: k for k, l in enumerate(labels)}
        out = np.empty(len(self), dtype=np.int64)
        for i, cell in enumerate(self.columns[name]):
            k = index.get(cell.strip())
            if k is None:
                path, line = self.where[i]
                raise SystemExit(f"{path} line {line}: {name} is {cell!r}; this model's labels are {', '.join(labels)}.")
            out[i] = k
        return out

    def describe(self):
        return f"{len(self)} rows of CSV ({', '.join(self.files)})"


def channel(variable):
    """The folder a channel variable names, or None when it is not set."""
    folder = os.environ.get(variable)
    if not folder:
        return None
    if not os.path.isdir(folder):
        raise SystemExit(f"{variable}={folder} is not a folder.")
    return folder


def training_data(read, bundled, bundled_text, test_size, seed, stratify):
    """(X_train, X_test, y_train, y_test, dataset text, split text) from the channels, else the bundled data.

    read(folder) -> (X, y, description) reads a channel; bundled() -> (X, y) loads scikit-learn's data set.
    """
    train = channel(TRAIN_CHANNEL)
    if train is None:
        X, y = bundled()
        dataset = bundled_text
    else:
        X, y, described = read(train)
        dataset = f"training channel: {described}"
    validation = channel(VALIDATION_CHANNEL)
    if validation is not None:
        X_test, y_test, described = read(validation)
        return X, X_test, y, y_test, dataset, f"validation channel: {described}"
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, stratify=y if stratify else None, random_state=seed)
    return X_train, X_test, y_train, y_test, dataset, split_text(test_size, seed, stratify)


def number(v):
    """A number as CSV text that reads back as the same float64 (whole numbers without a decimal point)."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v)


def write_dataset(path, header, rows):
    """Writes a training CSV: a header row, then one row of cells (already text) per example."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {path}")
