"""The synthetic generator: seeded, and drawn from the population it claims (BG/NBD parameters are
recovered by fitting lifetimes on what it generates)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from lifetimes import BetaGeoFitter

from helpers import synth

START, END = dt.date(2022, 1, 1), dt.date(2023, 12, 31)


def test_same_seed_same_log_and_other_seed_another() -> None:
    first, _ = synth.generate(2000, seed=3, start=START, end=END)
    again, _ = synth.generate(2000, seed=3, start=START, end=END)
    other, _ = synth.generate(2000, seed=4, start=START, end=END)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert first["customer_id"].nunique() == 2000  # every customer has a first purchase
    assert first["order_id"].is_unique
    assert first["order_ts"].between(pd.Timestamp(START), pd.Timestamp(END) + pd.Timedelta(days=1)).all()


def test_bgnbd_parameters_are_recovered() -> None:
    """Fitting BG/NBD (per day) on 60k generated customers gives back the CDNOW population."""
    log, _ = synth.generate(60_000, seed=11, start=START, end=END)
    day = (log["order_ts"] - pd.Timestamp(START)).dt.total_seconds() / 86_400
    per_customer = day.groupby(log["customer_id"]).agg(["min", "max", "count"])
    days = (END - START).days + 1
    fitted = (
        BetaGeoFitter()
        .fit(per_customer["count"] - 1, per_customer["max"] - per_customer["min"], days - per_customer["min"])
        .params_
    )
    truth = synth.Population()
    assert fitted["r"] == pytest.approx(truth.r, rel=0.08)
    assert fitted["alpha"] == pytest.approx(truth.alpha, rel=0.12)
    assert fitted["a"] == pytest.approx(truth.a, rel=0.15)
    assert fitted["b"] == pytest.approx(truth.b, rel=0.25)


def test_spend_follows_gamma_gamma() -> None:
    """Mean order value of the population: p * gamma / (q - 1) = 6.25 * 15.44 / 2.74 = 35.22."""
    log, _ = synth.generate(40_000, seed=5, start=START, end=END)
    per_customer_mean = log.groupby("customer_id")["amount"].mean()
    assert per_customer_mean.mean() == pytest.approx(6.25 * 15.44 / 2.74, rel=0.05)


def test_details_returns_and_identifiers() -> None:
    log, customers = synth.generate(500, seed=2, start=START, end=END, returns_share=0.1, with_details=True)
    returns = log[log["amount"] < 0]
    assert len(returns) > 0 and returns["order_id"].str.startswith("R").all()
    assert set(log["channel"]) <= set(synth.CHANNELS) and log["quantity"].between(1, 4).all()
    assert list(customers.columns) == [
        "customer_id",
        "name",
        "email",
        "phone",
        "address",
        "country",
        "signup_channel",
    ]
    assert customers["email"].str.endswith("@example.com").all() and len(customers) == 500


def test_cli_writes_parquet_and_csv(tmp_path: Path) -> None:
    for suffix in (".parquet", ".csv"):
        out = tmp_path / f"orders{suffix}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "helpers",
                "synth",
                "--customers",
                "300",
                "--seed",
                "9",
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        written = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
        expected, _ = synth.generate(300, seed=9)
        assert len(written) == len(expected) and done.stdout.startswith(f"{out}: {len(expected):,} orders")


def test_generating_to_a_file_in_blocks_keeps_ids_unique_and_small_sizes_unchanged(tmp_path: Path) -> None:
    whole, _ = synth.generate(250, seed=7, start=START, end=END, returns_share=0.1, with_details=True)
    rows, people = synth.generate_to_file(tmp_path / "one.parquet", 250, 7, START, END, 0.1, True)
    synth.write(whole, tmp_path / "whole.parquet")
    assert rows == len(whole)  # one block: the same file as generate + write
    assert pd.read_parquet(tmp_path / "one.parquet").equals(pd.read_parquet(tmp_path / "whole.parquet"))
    rows, people = synth.generate_to_file(
        tmp_path / "blocks.parquet", 250, 7, START, END, 0.1, True, chunk_customers=100
    )
    blocks = [
        synth.generate(n, seed=7 + i, start=START, end=END, returns_share=0.1, with_details=True)[0]
        for i, n in enumerate([100, 100, 50])
    ]
    written = pd.read_parquet(tmp_path / "blocks.parquet")
    assert rows == len(written) == sum(map(len, blocks))
    assert written["amount"].tolist() == pd.concat(blocks)["amount"].tolist()  # block i drawn with seed 7 + i
    assert people["customer_id"].tolist() == [f"C{i:08d}" for i in range(1, 251)]
    assert (
        set(written["customer_id"]) <= set(people["customer_id"])
        and written["customer_id"].iloc[-1] > "C00000200"
    )
    sales = written[written["order_id"].str.startswith("O")]
    assert (
        written["order_id"].is_unique and sales["order_id"].is_monotonic_increasing
    )  # numbered on across blocks
