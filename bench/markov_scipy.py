"""Independent check of idr's Markov removal effects on issue 16's edge cases: SciPy's SuperLU (spsolve)
solves every absorbing chain (the full one and one per channel removed) from the chain idr builds.

Dump the chains and idr's answers first (after npm run build), then run this:

  node -e "const fs=require('fs');Promise.all([import('./build/src/attribution/index.js'),import('./build/bench/attribution.js')]).then(([a,b])=>{for(const [n,t,o] of [['long',b.longPathTable(1e6),3],['wide',b.wideTable(),1]]){const c=a.buildChain(t,o),m=a.markov(t,{order:o});fs.writeFileSync('/tmp/markov-'+n+'.json',JSON.stringify({n:c.states,rowPtr:[...c.rowPtr],col:[...c.col],prob:[...c.prob],b1:[...c.toConversion],b2:[...c.toValue],gptr:[...c.channelPtr],gst:[...c.channelStates],p:m.conversionProbability,re:m.channels.map(x=>x.removalEffect),vre:m.valueRemovalEffects}))}})"
  python3 bench/markov_scipy.py /tmp/markov-long.json /tmp/markov-wide.json

2026-12-03 (numpy 2.4.6, scipy 1.17.1): long path |ΔP| 3.0e-12 (SciPy's error: P is 1/2 exactly and idr
gives 0.5), removal effects within 1.1e-16; wide table |ΔP| 9.2e-16, removal effects within 1.4e-14.
"""
import json
import sys

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sl

for path in sys.argv[1:]:
    d = json.load(open(path))
    n = d["n"]
    P = sp.csr_matrix((d["prob"], d["col"], d["rowPtr"]), shape=(n, n))
    A = (sp.identity(n) - P).tocsc()
    B = np.column_stack([d["b1"], d["b2"]])

    def solve(removed):
        keep = np.ones(n, bool)
        keep[list(removed)] = False  # removed states are absorbed into null: x = 0 there
        return sl.spsolve(A[keep][:, keep].tocsc(), B[keep])[0]  # state 0, start, is never removed

    p = solve([])
    re, vre = [], []
    for g in range(len(d["gptr"]) - 1):
        removed = d["gst"][d["gptr"][g]:d["gptr"][g + 1]]
        if not removed:
            re.append(0.0)
            vre.append(0.0)
            continue
        pc = solve(removed)
        re.append(max(0.0, 1 - pc[0] / p[0]))
        vre.append(max(0.0, 1 - pc[1] / p[1]))
    dre = max(abs(a - b) for a, b in zip(re, d["re"]))
    dvre = max(abs(a - b) for a, b in zip(vre, d["vre"]))
    print(f"{path}: {n} states, P {float(p[0])!r} (idr {d['p']!r}), max |ΔRE| {dre:.2e}, max |ΔvalueRE| {dvre:.2e}")
