"""`make bench`: every benchmark, one JSON document on stdout ({name: result}); progress on stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys

from bench import cards, contacts, e2e, ingest, pages, soak

BENCHMARKS = {
    "ingest": ingest,
    "e2e": e2e,
    "cards": cards,
    "contacts": contacts,
    "pages": pages,
    "soak": soak,
}


def main() -> None:
    # Benchmarks run the service against the sandbox vendors, on loopback over plain http (also when started
    # as `python -m bench e2e` rather than `make bench`).
    os.environ.setdefault("SANDBOX_MODE", "true")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", default=list(BENCHMARKS), help=f"which ({', '.join(BENCHMARKS)})")
    chosen = ap.parse_args().names
    results = {}
    for name in chosen:
        print(f"bench: {name} ...", file=sys.stderr)
        module = BENCHMARKS[name]
        results[name] = module.run(module.parser().parse_args([]))
    results["meets_targets"] = all(
        r.get("meets_target", False) for r in results.values() if isinstance(r, dict)
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
