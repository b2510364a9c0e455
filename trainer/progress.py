"""Progress reports: one compact JSON object (at most 200 bytes) handed to
a command (--progress-cmd; the Slurm batch script passes
`scontrol update JobId=$SLURM_JOB_ID Comment=`, which slurmrestd then
returns with the job) and/or written to a file (--progress-file).

  running: {"s":step,"S":steps,"e":epoch,"E":epochs,"l":loss,"v":val_loss,
            "eta":unix_time,"c":checkpoints,"tps":tokens_per_second,
            "mfu":model_flops_utilisation}

"tps" (non-padding tokens a second, every data-parallel process together)
and "mfu" (0..1, see trainer/perf.py) cover the steps since the last
report; "mfu" is left out when the device's peak is unknown (a CPU).
  failed:  {"err":"<reason>","msg":"<short message>"}

A job with metadata carries it in every report as "md" (on top of the 200
bytes), so that it stays readable in the comment that each report
replaces.

Every report is also appended to output_dir/progress.jsonl with the time.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import sys
import time

MAX_BYTES = 200


def compact(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _round(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.5g}")


def _round3(x: float) -> float:
    return float(f"{x:.3g}")


def failure_json(reason: str, message: str) -> str:
    """{"err","msg"} cut to MAX_BYTES, shortening the message."""
    reason = reason[:48]
    msg = message
    while True:
        text = compact({"err": reason, "msg": msg})
        if len(text.encode("utf-8")) <= MAX_BYTES or not msg:
            return text
        msg = msg[:max(0, len(msg) - max(1, len(text.encode()) - MAX_BYTES))]


def command(prefix: str, payload: str) -> list[str]:
    """The argv: the prefix split like a shell would; the JSON is glued to
    a last word that ends in '=' (Comment=), else one more argument."""
    argv = shlex.split(prefix)
    if argv and argv[-1].endswith("="):
        argv[-1] += payload
    else:
        argv.append(payload)
    return argv


class Reporter:
    def __init__(self, cmd: str | None = None, file: str | None = None,
                 interval: float = 5.0, log: str | None = None,
                 timeout: float = 15.0):
        self.metadata: dict | None = None
        self.cmd = cmd
        self.file = file
        self.interval = interval
        self.log = log
        self.timeout = timeout
        self.last_sent = 0.0
        self.last_payload: str | None = None
        self.failed = False

    def _emit(self, payload: str) -> None:
        if self.metadata:
            payload = payload[:-1] + ',"md":' + compact(self.metadata) + "}"
        self.last_payload = payload
        if self.file:
            try:
                d = os.path.dirname(os.path.abspath(self.file))
                os.makedirs(d, exist_ok=True)
                tmp = self.file + ".tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(payload + "\n")
                os.replace(tmp, self.file)
            except OSError as e:
                print(f"trainer: progress file: {e}", file=sys.stderr)
        if self.log:
            try:
                with open(self.log, "a", encoding="utf-8") as f:
                    f.write(compact({"t": int(time.time()),
                                     **json.loads(payload)}) + "\n")
            except OSError:
                pass
        if self.cmd:
            try:
                r = subprocess.run(command(self.cmd, payload),
                                   stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT,
                                   timeout=self.timeout)
                if r.returncode != 0:
                    print(f"trainer: progress command exited "
                          f"{r.returncode}: "
                          f"{r.stdout.decode(errors='replace')[:200]}",
                          file=sys.stderr)
            except (OSError, ValueError, subprocess.TimeoutExpired) as e:
                print(f"trainer: progress command: {e}", file=sys.stderr)
        self.last_sent = time.monotonic()

    def update(self, step: int, steps: int, epoch: int, epochs: int,
               loss: float | None = None, val_loss: float | None = None,
               eta: float | None = None, checkpoints: int = 0,
               force: bool = False, tps: float | None = None,
               mfu: float | None = None) -> bool:
        """Reports unless the last report is younger than the interval
        (force: always).  Returns whether it reported."""
        if not force and time.monotonic() - self.last_sent < self.interval:
            return False
        obj = {"s": step, "S": steps, "e": epoch, "E": epochs}
        if _round(loss) is not None:
            obj["l"] = _round(loss)
        if _round(val_loss) is not None:
            obj["v"] = _round(val_loss)
        if eta is not None:
            obj["eta"] = int(eta)
        obj["c"] = checkpoints
        if tps is not None and math.isfinite(tps):
            obj["tps"] = int(round(tps)) if tps >= 100 else _round3(tps)
        if mfu is not None and math.isfinite(mfu):
            obj["mfu"] = _round3(mfu)
        self._emit(compact(obj))
        return True

    def fail(self, reason: str, message: str) -> None:
        self.failed = True
        self._emit(failure_json(reason, message))
