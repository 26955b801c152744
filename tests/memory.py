"""Peak memory of a probe run in a fresh child process: the tests' memory ceilings.

The child runs ``setup`` (imports, making inputs), resets the kernel's record of its peak resident
set size (``/proc/self/clear_refs``), runs ``probe`` (which assigns a JSON-able ``result``) and
reports the peak (``VmHWM``) minus the resident size before the probe: the true high-water mark of
the probe, not a sample. (``ru_maxrss`` would not do: on Linux it carries over through ``exec``
from the forking process, here the test runner with torch loaded.) Linux only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json

def _status_kb(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))

{setup}
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak RSS becomes the current RSS
_base = _status_kb("VmRSS")
result = None
{probe}
_peak = _status_kb("VmHWM")
print("PROBE-RESULT " + json.dumps({{"base_kb": _base, "peak_kb": _peak, "result": result}}))
"""


@dataclass(frozen=True)
class Probe:
    """What the child reported: the probe's ``result`` and its peak RSS growth in MiB."""

    result: object
    growth_mib: float
    stderr: str


def run_probe(setup: str, probe: str, timeout: float = 300) -> Probe:
    """Run ``probe`` after ``setup`` in a child Python; fails the test if the child fails."""
    code = _CHILD.format(setup=textwrap.dedent(setup), probe=textwrap.dedent(probe))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE-RESULT ")]
    assert proc.returncode == 0 and lines, f"child failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    rep = json.loads(lines[-1].removeprefix("PROBE-RESULT "))
    return Probe(rep["result"], (rep["peak_kb"] - rep["base_kb"]) / 1024, proc.stderr)
