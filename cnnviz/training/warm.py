"""What every training worker needs before its first step, loaded once: torch (one thread) and the data sets.

Only the workers' fork server imports this module (see `cnnviz.training.worker`): importing it does the
work, once per server, so that each worker forked afterwards starts with torch imported and every data
set generated (shared copy-on-write), instead of spending seconds on them per run. Nothing here runs a
torch operation, so no thread pool exists yet when the workers are forked.
"""

from __future__ import annotations

import gc
import os

# Before numpy and torch load: one thread per worker process (each run has its own core).
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

# What a run imports on its way, once per worker otherwise (about 0.7 s of its first run): torch's compiler
# front end, which every optimizer's construction imports (and with it the symbolic shapes that building
# a model on the meta device needs), the worker's code and the network graph code that builds models.
import torch._dynamo  # noqa: E402, F401

from cnnviz.network import torch_graph as _torch_graph  # noqa: E402, F401
from cnnviz.training import worker as _worker  # noqa: E402, F401
from cnnviz.training.datasets import DATASETS, load_dataset  # noqa: E402

torch.set_num_threads(1)

for _dataset in DATASETS:
    try:
        load_dataset(_dataset)
    except Exception:  # a worker that needs this set generates it itself and reports why not
        pass

# Everything loaded so far lives as long as the server: frozen, no collection walks it again, in a worker
# (the collection after each run takes under 10 ms instead of about 250) or here, and the workers
# keep sharing the pages that hold it.
gc.collect()
gc.freeze()
