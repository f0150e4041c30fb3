"""An executor that runs a step's tasks as a cluster would, in this process: each task's context, chunk and
result go through pickle, so a step that is not a pure function of picklable inputs fails here as on Ray."""

from __future__ import annotations

import json
import pickle
from typing import Any


class Pickling:
    """Each task gets its context and chunk through pickle, in order; records the steps it ran (``calls``),
    each task's step, context and chunk (``inputs``) and each task's step and result (``outputs``)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.inputs: list[tuple[str, object, object]] = []
        self.outputs: list[tuple[str, object]] = []

    def map(self, fn, context, chunks, label=None):
        for chunk in chunks:
            self.calls.append(fn.__name__)
            self.inputs.append((fn.__name__, context, chunk))
            if label is not None:
                assert isinstance(label(chunk), str)
            out = pickle.loads(pickle.dumps(fn(*pickle.loads(pickle.dumps((context, chunk))))))
            self.outputs.append((fn.__name__, out))
            yield out


def scan_json(result: Any) -> str:
    """A scan's JSON without its timings: what must be the same whatever ran it."""
    data = result.to_dict()
    data["meta"].pop("timings")
    return json.dumps(data)
