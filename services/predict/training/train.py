"""Rebuild the shipped model from scratch, offline and deterministically.

Simulated training people (sinus rhythm with occasional ectopy vs AF model A), features of their
10-second windows, one small gradient-boosted tree model per input kind (RR intervals, 1 Hz heart
rate), both exported to ONNX and joined into one graph with two inputs. A quarter of the training
people (by person, never by window) is held back to set each kind's decision threshold at 98.5%
specificity. Same seed and same library versions give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier

from services.predict.features import FEATURE_NAMES, N_FEATURES
from services.predict.inputs import check_windows, features_of
from services.predict.training.datasets import Cohort, simulate_cohort

TRAINING_SEED = 20261124
TRAIN_PERSONS = range(400)  # per class; test people are drawn with another seed
MODEL_VERSION = "1.0.0"
CALIBRATION_SPECIFICITY = 0.985  # the goal is >= 98% per window; 0.5 point of margin
KINDS = ("rr", "hr")
OPSETS = {"": 17, "ai.onnx.ml": 3}


@dataclass
class KindData:
    features: np.ndarray
    labels: np.ndarray
    person_keys: np.ndarray  # "<cohort>-<person>" so people of different cohorts never collide


def kind_data(cohorts: list[Cohort], kind: str) -> KindData:
    features, labels, keys = [], [], []
    for cohort in cohorts:
        checked = check_windows(cohort.windows(with_rr=kind == "rr"))
        used = checked.use_rr if kind == "rr" else checked.use_hr
        rr_features, hr_features = features_of(checked)
        features.append(rr_features if kind == "rr" else hr_features)
        labels.append(np.full(int(used.sum()), cohort.label))
        keys.append(np.char.add(f"{cohort.name}-", cohort.person_ids[used].astype(str)))
    return KindData(np.concatenate(features), np.concatenate(labels), np.concatenate(keys))


def fit_classifier(x: np.ndarray, y: np.ndarray, seed: int) -> GradientBoostingClassifier:
    model = GradientBoostingClassifier(
        n_estimators=150, max_depth=3, learning_rate=0.1, subsample=1.0, random_state=seed
    )
    return model.fit(x.astype(np.float64), y)


def _to_onnx(model: GradientBoostingClassifier, kind: str) -> onnx.ModelProto:
    converted = convert_sklearn(
        model,
        initial_types=[("features", FloatTensorType([None, N_FEATURES]))],
        options={id(model): {"zipmap": False}},
        target_opset=OPSETS,
    )
    return onnx.compose.add_prefix(converted, f"{kind}_")


def join_graphs(per_kind: dict[str, onnx.ModelProto]) -> onnx.ModelProto:
    nodes, inputs, outputs, initializers = [], [], [], []
    for kind, model in per_kind.items():
        graph = model.graph
        nodes.extend(graph.node)
        inputs.extend(graph.input)
        initializers.extend(graph.initializer)
        outputs.extend(o for o in graph.output if o.name == f"{kind}_probabilities")
    graph = helper.make_graph(nodes, "irregular_rhythm", inputs, outputs, initializers)
    opsets = [helper.make_opsetid(domain, version) for domain, version in OPSETS.items()]
    joined = helper.make_model(graph, opset_imports=opsets, producer_name="pulseledger")
    joined.ir_version = 8
    onnx.checker.check_model(joined)
    return joined


def threshold_at_specificity(negative_scores: np.ndarray, specificity: float) -> float:
    return float(np.quantile(negative_scores, specificity, method="higher"))


def build(seed: int = TRAINING_SEED) -> tuple[bytes, dict]:
    import skl2onnx
    import sklearn

    cohorts = [simulate_cohort(name, TRAIN_PERSONS, seed) for name in ("sinus", "af_cohen")]
    per_kind, thresholds, counts = {}, {}, {}
    for kind in KINDS:
        data = kind_data(cohorts, kind)
        person_number = np.char.rpartition(data.person_keys, "-")[:, 2].astype(int)
        calibration = person_number % 4 == 0
        model = fit_classifier(data.features[~calibration], data.labels[~calibration], seed)
        scores = model.predict_proba(data.features[calibration].astype(np.float64))[:, 1]
        negatives = scores[data.labels[calibration] == 0]
        thresholds[kind] = threshold_at_specificity(negatives, CALIBRATION_SPECIFICITY)
        counts[kind] = {
            "fit_windows": int((~calibration).sum()),
            "calibration_windows": int(calibration.sum()),
        }
        per_kind[kind] = _to_onnx(model, kind)
    model_bytes = join_graphs(per_kind).SerializeToString()
    metadata = {
        "model_version": MODEL_VERSION,
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        "feature_names": list(FEATURE_NAMES),
        "inputs": {kind: f"{kind}_features" for kind in KINDS},
        "outputs": {kind: f"{kind}_probabilities" for kind in KINDS},
        "thresholds": thresholds,
        "threshold_rule": f"{CALIBRATION_SPECIFICITY:.1%} specificity on held-back training people",
        "training_seed": seed,
        "training_people_per_class": len(TRAIN_PERSONS),
        "training_windows": counts,
        "classifier": "sklearn GradientBoostingClassifier(n_estimators=150, max_depth=3)",
        "trained_with": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__},
        "negative_class": "simulated sinus rhythm (McSharry 2003 / Nunan 2010) with occasional ectopy",
        "positive_class": "simulated AF, AV-junction model of Cohen, Berger & Dushane 1983",
    }
    return model_bytes, metadata


def write(model_bytes: bytes, metadata: dict, model_path: Path, metadata_path: Path) -> None:
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(model_bytes)
    metadata_path.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
