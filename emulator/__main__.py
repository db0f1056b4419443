"""python -m emulator [--host 127.0.0.1] [--port 5000] [--delay NAME=SECONDS ...] [--enforce-iam [N]]
    [--fsx-data-dir DIR]"""

import argparse
import os
import signal
import sys
import time

from . import state
from .server import check_loopback

# The fsx_data fill reads the data directory from this variable (set by --fsx-data-dir): the fill is imported only
# once FSx is first called, and an in-process emulator is configured the same way.
FSX_DATA_DIR_VARIABLE = "EMULATOR_FSX_DATA_DIR"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (others are refused)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", "5000")))
    parser.add_argument("--delay", action="append", default=[], metavar="NAME=SECONDS",
                        help=f"timing setting, one of {', '.join(sorted(state.DEFAULT_SETTINGS))}")
    parser.add_argument("--enforce-iam", type=int, nargs="?", const=3, default=None, metavar="N",
                        help="check every AWS request against the caller's IAM policies, after the first N (3) requests, "
                             "which make an administrator (see emulator/iam_enforcement.py)")
    parser.add_argument("--fsx-data-dir", default=os.environ.get(FSX_DATA_DIR_VARIABLE) or None, metavar="DIR",
                        help="keep each FSx for Lustre file system's content in DIR/<file-system-id>/, imported from "
                             "and exported to S3 through its data repository associations (default: "
                             f"${FSX_DATA_DIR_VARIABLE}; see emulator/fills/fsx_data.py)")
    return parser.parse_args(argv)


def _data_directory(path):
    """The absolute path of the FSx data directory, made when missing; ValueError when it cannot be."""
    path = os.path.abspath(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise ValueError(f"--fsx-data-dir {path}: {error}") from error
    return path


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    try:
        check_loopback(args.host)
        state.update_settings(dict(item.split("=", 1) for item in args.delay))
        if args.fsx_data_dir:
            os.environ[FSX_DATA_DIR_VARIABLE] = _data_directory(args.fsx_data_dir)
    except ValueError as error:
        sys.exit(f"emulator: {error}")
    started = time.monotonic()
    # Imported after the checks so that a refused address fails fast, before moto loads.
    from .server import make_emulator  # pylint: disable=import-outside-toplevel

    if args.enforce_iam is not None:
        from .iam_enforcement import enable  # pylint: disable=import-outside-toplevel

        enable(args.enforce_iam)
    server = make_emulator(args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"emulator listening on http://{args.host}:{server.server_port} "
          f"(ready in {time.monotonic() - started:.2f}s)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
