"""`python -m trainer.torchrun ARGS` is `python -m torch.distributed.run
ARGS` (torchrun), which the ftgw-trainer wrapper runs when FTGW_GPUS > 1.

It mends one bug first: Debian's torch 1.13 on Python 3.11 can't start any
worker (AttributeError: 'NoneType' object has no attribute 'get'), because
its Std.from_str looks the value up by iterating an IntFlag, which since
Python 3.11 skips NONE (0) and ALL (3).  torch 2 doesn't need the mend and
gets torchrun untouched.
"""

from __future__ import annotations


def _mend() -> None:
    import re

    from torch.distributed.elastic.multiprocessing import api
    Std = api.Std
    if Std.from_str("0") is not None:
        return

    def from_str(vm: str):
        if re.fullmatch(r"[0-3]", vm):
            return Std(int(vm))
        if re.fullmatch(r"([0-9]+:[0-3],)*[0-9]+:[0-3]", vm):
            return {int(i): Std(int(v))
                    for i, v in (m.split(":") for m in vm.split(","))}
        raise ValueError(f"{vm} does not match the std-stream format")
    Std.from_str = staticmethod(from_str)


def main() -> None:
    _mend()
    from torch.distributed.run import main as torchrun
    torchrun()


if __name__ == "__main__":
    main()
