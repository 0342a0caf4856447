#!/usr/bin/env python3
"""torchrun for the PyTorch DDP peer: PyTorch's own launcher (torch.distributed.run,
what /usr/bin/torchrun runs), with its arguments, and three differences:

    python3 peers/torchrun.py --standalone --nproc_per_node 2 peers/torch_train.py ...

- It runs where the pytorch contestant runs: an interpreter without torch re-runs it
  with /usr/bin/python3 (Debian's python3-torch), as torch_train.py does; no torch,
  no torch.distributed or no gloo backend: exit status 3 and "skipped: ..." on
  stderr, before any worker starts (the bench reports the contestant as skipped).
- Debian's PyTorch 1.13 on Python 3.11 cannot start: its Std.from_str finds no
  member for "0" (the default of --redirects and --tee) since Python 3.11 leaves
  the enum.Flag aliases NONE and ALL out of iteration. Where that is so, Std is
  looked up by value instead.
- A worker that fails makes it exit with that worker's status (the first failure;
  128 + N for signal N) and one line naming the rank, instead of status 1 and a
  traceback; so a worker's exit status 3 (skipped) reaches the bench.
"""

import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlab_peer as P  # noqa: E402

INSTALL_HINT = "apt-get install python3-torch (Debian's PyTorch, for /usr/bin/python3)"


def fix_std():
    from torch.distributed.elastic.multiprocessing import api

    if api.Std.from_str("0") is not None:
        return

    def from_str(cls, vm):
        if "," not in vm and ":" not in vm:
            return cls(int(vm))
        return {int(i): cls(int(v)) for i, v in (m.split(":") for m in vm.split(","))}

    api.Std.from_str = classmethod(from_str)


def main():
    if importlib.util.find_spec("torch") is None:
        P.reexec_with("/usr/bin/python3", [os.path.abspath(__file__)] + sys.argv[1:])
        P.skip("PyTorch (module torch)", INSTALL_HINT)
    P.require_gloo()
    fix_std()
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    args = parse_args(sys.argv[1:])
    try:
        run(args)
    except ChildFailedError as e:
        rank, f = e.get_first_failure()
        code = f.exitcode
        how = "status %d" % code if code >= 0 else "signal %d" % -code
        sys.stderr.write("torchrun.py: rank %d (pid %d) ended with %s\n" % (rank, f.pid, how))
        sys.exit(code if 0 < code < 256 else 128 - code if code < 0 else 1)


if __name__ == "__main__":
    main()
