"""BG/NBD fitted on every customer vs on the unique (frequency, recency, T) histories with counts as
weights (what notebook 06 does): the same estimates, and how much time and memory the compression saves.

Synthetic customers follow the BG/NBD process with the published CDNOW parameters (weekly): purchase
rate lambda ~ Gamma(r, alpha), dropout p ~ Beta(a, b), age T uniform over 1..78 whole weeks; a customer
makes Poisson(lambda T) purchases but stops after the Geometric(p)-th; recency is the time of the last
one, in whole weeks like lifetimes' freq='W'. Each variant runs in its own process so that its peak
memory (resource.getrusage) is its own.
Usage: .venv/bin/python benchmarks/bench_clv.py --customers 1000000 [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results_clv.json"
TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie and Lee (2005), weeks
MAX_AGE_WEEKS = 78


def synthetic_histories(customers: int, seed: int) -> pd.DataFrame:
    """Per customer repeat_periods, recency_periods, age_periods (whole weeks) from a BG/NBD process."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, MAX_AGE_WEEKS + 1, customers).astype(float)
    rate = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], customers)
    dropout = rng.beta(TRUE["a"], TRUE["b"], customers)
    events = rng.poisson(rate * age)  # purchases an immortal customer would make in (0, T]
    stop_after = rng.geometric(dropout)  # the purchase after which the customer leaves
    repeats = np.minimum(events, stop_after)
    # The x-th of n uniform event times in (0, T] is T x Beta(x, n - x + 1).
    safe = np.maximum(repeats, 1)
    last = age * rng.beta(safe, np.maximum(events - safe + 1, 1))
    recency = np.where(repeats > 0, np.clip(np.ceil(last), 1, age), 0.0)
    return pd.DataFrame({"repeat_periods": repeats, "recency_periods": recency, "age_periods": age})


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(variant: str, customers: int, seed: int) -> dict:
    """Generate the customers, then fit BG/NBD on every row (raw) or on the compressed histories."""
    sys.path.insert(0, str(REPO / "src"))
    from helpers import clv

    started = time.perf_counter()
    histories = synthetic_histories(customers, seed)
    generated = time.perf_counter()
    memory_after_generation = peak_memory_mb()
    if variant == "raw":
        data = histories[clv.HISTORY_COLUMNS]
    else:  # compressed: every customer; sampled: as notebook 06 above clv.fit_sample_above customers
        data = clv.compress_histories(
            histories, sample_above=None if variant == "compressed" else clv.FIT_SAMPLE_ABOVE, seed=seed
        )
    compressed = time.perf_counter()
    fit = clv.fit_model(data, "bgnbd", seed=seed)
    done = time.perf_counter()
    return {
        "variant": variant,
        "customers": customers,
        "rows_fitted": len(data),
        "repeat_buyers": int((histories["repeat_periods"] > 0).sum()),
        "generate_seconds": round(generated - started, 3),
        "compress_seconds": round(compressed - generated, 3),
        "fit_seconds": round(done - compressed, 3),
        "fit_and_compress_seconds": round(done - generated, 3),
        "peak_memory_mb_after_generation": round(memory_after_generation, 1),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "converged": fit.converged,
        "params": fit.params,
        "standard_errors": fit.standard_errors,
        "log_likelihood": fit.log_likelihood,
        "note": fit.note,
    }


def clv_sample(results: dict) -> str:
    from helpers import clv

    return (
        f"{clv.FIT_SAMPLE_ABOVE:,} of {results['sampled']['customers']:,} customers "
        f"({results['sampled']['rows_fitted']:,} distinct histories)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--variant", choices=["raw", "compressed", "sampled"], help=argparse.SUPPRESS
    )  # child process
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.customers, args.seed)))
        return
    results = {}
    for variant in ("compressed", "sampled", "raw"):
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--customers",
                str(args.customers),
                "--seed",
                str(args.seed),
                "--variant",
                variant,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
        run = results[variant]
        print(
            f"{variant:>10}: {run['rows_fitted']:>9,} rows, fit {run['fit_and_compress_seconds']:.2f} s "
            f"(compression included), peak {run['peak_memory_mb']:.0f} MB"
        )
    raw, small = results["raw"]["params"], results["compressed"]["params"]
    difference = max(abs(small[k] / raw[k] - 1) for k in raw)
    sampled = results["sampled"]["params"]
    sample_difference = max(abs(sampled[k] / raw[k] - 1) for k in raw)
    summary = {
        "customers": args.customers,
        "seed": args.seed,
        "true_params": TRUE,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "max_relative_param_difference": difference,
        "same_params_to_1e-4": difference < 1e-4,
        # Fit small: the seeded sample's estimates differ from everyone's by sampling error only.
        "sampled_max_relative_param_difference": sample_difference,
        "sampled_speedup": round(
            results["raw"]["fit_and_compress_seconds"] / results["sampled"]["fit_and_compress_seconds"], 1
        ),
        "speedup": round(
            results["raw"]["fit_and_compress_seconds"] / results["compressed"]["fit_and_compress_seconds"], 1
        ),
        "compression_ratio": round(results["raw"]["rows_fitted"] / results["compressed"]["rows_fitted"], 1),
        "variants": results,
    }
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"fit on a seeded sample of {clv_sample(results)}: parameters within {sample_difference:.1e} of the "
        f"fit on "
        f"everyone, speed-up x{summary['sampled_speedup']}"
    )
    print(
        f"parameters agree to {difference:.1e} (relative); speed-up x{summary['speedup']}; "
        f"{summary['compression_ratio']}x fewer rows; wrote {RESULTS.relative_to(REPO)}"
    )
    if difference >= 1e-4:
        sys.exit("the weighted and raw fits differ by more than 1e-4")


if __name__ == "__main__":
    main()
