"""`make bench`: every benchmark, one JSON document on stdout ({name: result}); progress on stderr."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
from pathlib import Path

from bench import cards, contacts, e2e, ingest, pages, soak

BENCHMARKS = {
    "ingest": ingest,
    "e2e": e2e,
    "cards": cards,
    "contacts": contacts,
    "pages": pages,
    "soak": soak,
}


def machine() -> dict[str, object]:
    """What the figures were measured on (every role, the load generator and the vendors share it)."""
    model = ""
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), "")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "load_1m_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def main() -> None:
    # Benchmarks run the service against the sandbox vendors, on loopback over plain http (also when started
    # as `python -m bench e2e` rather than `make bench`).
    os.environ.setdefault("SANDBOX_MODE", "true")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", default=list(BENCHMARKS), help=f"which ({', '.join(BENCHMARKS)})")
    chosen = ap.parse_args().names
    results: dict[str, object] = {"machine": machine()}
    for name in chosen:
        print(f"bench: {name} ...", file=sys.stderr)
        module = BENCHMARKS[name]
        results[name] = module.run(module.parser().parse_args([]))
    results["meets_targets"] = all(
        r.get("meets_target", False) for name in chosen if isinstance(r := results[name], dict)
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
