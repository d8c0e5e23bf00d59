"""Times scikit-learn's GaussianMixture on the refit benchmark's data, for the side-by-side table.

Usage: sklearn_refit.py DATA.json  (rows, cols, data, covariance, kMin, kMax, nInit, tol, regCovar, reps)
Prints one JSON object: median and all times in ms, the BIC per K and the K chosen.
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

warnings.simplefilter("ignore", ConvergenceWarning)

spec = json.load(open(sys.argv[1]))
x = np.array(spec["data"], dtype=np.float64).reshape(spec["rows"], spec["cols"])


def select():
    bics = []
    for k in range(spec["kMin"], spec["kMax"] + 1):
        gm = GaussianMixture(k, covariance_type=spec["covariance"], n_init=spec["nInit"], tol=spec["tol"],
                             reg_covar=spec["regCovar"], max_iter=100, random_state=k)
        gm.fit(x)
        bics.append(gm.bic(x))
    return bics


select()  # warm-up (imports, BLAS threads)
times = []
for _ in range(spec["reps"]):
    t = time.perf_counter()
    bics = select()
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({"medianMs": times[len(times) // 2], "timesMs": times, "bic": bics,
                  "k": spec["kMin"] + int(np.argmin(bics)), "sklearn": __import__("sklearn").__version__}))
