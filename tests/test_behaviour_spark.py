"""Stage 04's sessions, funnel and engagement give the same answers on a local Spark session and on
DuckDB, read from the same clean-events Parquet file: seeded visitors with pauses around the session
gap (exactly the gap included), anonymous and signed-in events, rows with and without the source's
session id, and the hand-made funnel visits of test_behaviour."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_behaviour import FUNNEL_EVENTS, STEPS
from test_spark_stages import frame_of

from helpers import behaviour, engine, io

AS_OF = dt.date(2024, 1, 31)
TYPES = ["page_view", *STEPS, "search"]


def seeded_events(visitors: int = 150, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(visitors):
        ts = pd.Timestamp("2024-01-02") + pd.Timedelta(seconds=int(rng.integers(0, 20 * 86_400)))
        customer = f"c{v:03d}" if rng.random() < 0.7 else None
        device = f"d{v:03d}"
        channel = "app" if rng.random() < 0.4 else "web"
        for _ in range(int(rng.integers(3, 25))):
            pause = rng.choice([40, 600, 1800, 1801, 7200])  # exactly the gap, and one second over
            ts = ts + pd.Timedelta(seconds=int(pause))
            signed = customer if rng.random() < 0.6 else None
            rows.append((ts, signed, device if signed is None or rng.random() < 0.5 else None,
                         str(rng.choice(TYPES)), channel, None))  # fmt: skip
    rows += [(pd.Timestamp(r[0]), *r[1:]) for r in FUNNEL_EVENTS]
    frame = pd.DataFrame(
        rows, columns=["event_ts", "customer_id", "anonymous_id", "event_type", "channel", "session_id"]
    )
    frame["event_ts"] = frame["event_ts"].astype("datetime64[us]")
    frame["source_row"] = np.arange(1, len(frame) + 1, dtype="int64")
    for column in ("customer_id", "anonymous_id", "session_id"):
        frame[column] = frame[column].astype("string")
    return frame


@pytest.fixture(scope="module")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    duck = engine.connect()
    table = duck.create_table("events", seeded_events()).order_by("source_row")
    return io.write_table(table, tmp_path_factory.mktemp("behaviour_spark") / "02_events.parquet")


def test_sessions_and_funnel_are_identical_on_spark_and_duckdb(spark, events_file: Path) -> None:
    results = {}
    for name, con in (("duckdb", engine.connect()), ("spark", spark)):
        # Materialised as stage 04 does (a cached DataFrame on Spark): each later query starts from them.
        sessionised = engine.materialise(
            con, "sessionised", behaviour.sessionise(con.read_parquet(str(events_file)), 30), on_disk=True
        )
        session_table = engine.materialise(con, "session_table", behaviour.sessions(sessionised, STEPS))
        per_event = frame_of(sessionised.select("source_row", "session_key"), ["source_row"])
        sessions = frame_of(session_table, ["session_key"])
        funnel = behaviour.funnel(behaviour.with_groups(session_table, None), STEPS)
        raw = con.read_parquet(str(events_file))
        orders = raw.filter(raw.event_type == "purchase").select(
            customer_id="customer_id", order_id="session_id", order_ts="event_ts"
        )  # the purchases as orders (those without a customer count for nobody)
        engaged = frame_of(
            behaviour.engagement(sessionised, session_table, orders, AS_OF),
            ["customer_id"],
        )
        results[name] = (per_event, sessions, funnel, engaged)
    for duck, on_spark in zip(results["duckdb"], results["spark"]):
        pd.testing.assert_frame_equal(duck, on_spark, check_dtype=False, check_exact=True)
    per_event, sessions, funnel, _ = results["duckdb"]
    assert per_event["session_key"].nunique() == len(sessions) > 150
    hand = sessions.set_index("session_key").loc[["s:A", "s:B", "s:C", "s:D", "s:E"]]
    assert hand["reached_purchase"].tolist() == [1, 0, 0, 0, 1]
    overall = funnel[funnel["group_kind"] == "all"]["sessions"].tolist()
    assert overall[0] >= overall[1] >= overall[2] >= overall[3] > 0
