"""Clustering: feature scaling (pandas and engine agree), nearest-centre assignment, choice of k and
the elbow, deterministic numbering and names, the same labels for the same seed, sampling and
MiniBatch thresholds, and tiny or empty inputs; answers worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans

from helpers import clustering, io
from helpers.config import ClusteringConfig

RFM = ["recency_days", "frequency_orders", "monetary_total"]
E1 = math.e - 1  # sign(x)·ln(1 + |x|) of ±(e - 1) is ±1


def blobs(per_blob: int = 60, seed: int = 0) -> pd.DataFrame:
    """Three well separated groups of customers: dormant one-off low spenders, middling, and recent
    frequent high spenders (monetary means 10, 100, 1000)."""
    rng = np.random.default_rng(seed)
    parts = []
    for recency, frequency, monetary in [(500, 1, 10), (200, 3, 100), (10, 12, 1000)]:
        parts.append(
            pd.DataFrame(
                {
                    "recency_days": recency * rng.uniform(0.9, 1.1, per_blob),
                    "frequency_orders": np.round(frequency * rng.uniform(0.9, 1.1, per_blob)),
                    "monetary_total": monetary * rng.uniform(0.9, 1.1, per_blob),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "customer_id", [f"c{i:04d}" for i in range(len(frame))])
    frame["segment"] = "Lost"
    return frame


def test_features_are_logged_centred_and_scaled_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "monetary_total": [E1, -E1, E1, -E1],
            "tenure_days": [1.0, 3.0, 1.0, None],
            "region": ["north", "south", "north", None],
        }
    )
    config = ClusteringConfig(
        features=["monetary_total", "tenure_days", "region"], log_features=["monetary_total"]
    )
    features = clustering.define_features(frame, config)
    assert [f.name for f in features] == [
        "monetary_total (log)",
        "tenure_days",
        "region=north",
        "region=south",
    ]
    money, tenure, north, south = features
    assert (money.center, money.scale) == (pytest.approx(0.0), pytest.approx(1.0))  # logs are 1, -1, 1, -1
    # tenure: known values 1, 3, 1 -> mean 5/3, population sd sqrt(8/9); the missing one counts as the mean
    assert (tenure.center, tenure.scale) == (pytest.approx(5 / 3), pytest.approx(math.sqrt(8 / 9)))
    # north: 1, 0, 1, 0 (missing is not north) -> share 0.5, sd 0.5; south: 0, 1, 0, 0 -> 0.25, sqrt(3)/4
    assert (north.center, north.scale, south.center, south.scale) == (
        pytest.approx(0.5),
        pytest.approx(0.5),
        pytest.approx(0.25),
        pytest.approx(math.sqrt(3) / 4),
    )
    scaled = clustering.scaled_features(frame, features)
    assert scaled["monetary_total (log)"].tolist() == pytest.approx([1.0, -1.0, 1.0, -1.0])
    assert scaled["tenure_days"].tolist() == pytest.approx(
        [-(2 / 3) / math.sqrt(8 / 9), (4 / 3) / math.sqrt(8 / 9), -(2 / 3) / math.sqrt(8 / 9), 0.0]
    )
    assert scaled["region=north"].tolist() == pytest.approx([1.0, -1.0, 1.0, -1.0])
    table = clustering.feature_table(features)
    assert table["transformation"].tolist() == [
        "sign(x)·ln(1 + |x|)",
        "none",
        "1 if region is north, else 0",
        "1 if region is south, else 0",
    ]


def test_a_constant_feature_keeps_scale_one_instead_of_dividing_by_zero() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b"], "frequency_orders": [1, 1]})
    (feature,) = clustering.define_features(
        frame, ClusteringConfig(features=["frequency_orders"], log_features=[])
    )
    assert (feature.center, feature.scale) == (1.0, 1.0)
    assert clustering.scaled_features(frame, [feature])["frequency_orders"].tolist() == [0.0, 0.0]


def test_engine_scaling_and_assignment_agree_with_numpy(con) -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(200)],
            "recency_days": rng.integers(0, 500, 200).astype(float),
            "monetary_total": rng.normal(50, 40, 200),  # some negative: returns netted
            "region": rng.choice(["north", "south", "east"], 200),
        }
    )
    frame.loc[3, "monetary_total"] = None
    config = ClusteringConfig(
        features=["recency_days", "monetary_total", "region"], log_features=["recency_days", "monetary_total"]
    )
    features = clustering.define_features(frame, config)
    scaled = clustering.scaled_features(frame, features)
    table = ibis.memtable(frame)
    expressions = clustering.scaled_expressions(table, features)
    in_engine = con.execute(table.select(*[e.name(f"x{i}") for i, e in enumerate(expressions)]))
    np.testing.assert_allclose(in_engine.to_numpy(), scaled.to_numpy(), atol=1e-9)
    centroids = rng.normal(0, 1, (4, len(features)))
    expected = clustering.nearest_centroid(scaled.to_numpy(), centroids)
    cluster = clustering.nearest_centroid_expression(table, features, centroids)
    assigned = con.execute(table.select("customer_id", cluster=cluster))
    assert assigned["cluster"].tolist() == expected.tolist()
    assert set(expected) == {0, 1, 2, 3}


def test_nearest_centroid_by_hand_with_ties_going_to_the_lower_number() -> None:
    points = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [9.0, 9.0]])
    centroids = np.array([[0.0, 0.0], [2.0, 0.0]])
    # (1, 0) is 1 from both centres: the lower number wins; (9, 9) is nearer (2, 0)
    assert clustering.nearest_centroid(points, centroids).tolist() == [0, 1, 0, 1]


def test_elbow_is_the_k_farthest_below_the_chord() -> None:
    k_table = pd.DataFrame({"k": [2, 3, 4, 5], "inertia": [100.0, 40.0, 30.0, 25.0], "silhouette": [0.5] * 4})
    # scaled: x 0, 1/3, 2/3, 1; y 1, 0.2, 0.067, 0 -> below the chord by 0, 0.467, 0.267, 0
    assert clustering.elbow_k(k_table) == 3
    assert clustering.elbow_k(k_table.iloc[:2]) is None


def test_choose_k_by_silhouette_ties_to_the_smaller_k_and_says_why() -> None:
    k_table = pd.DataFrame(
        {"k": [3, 4, 5, 6], "inertia": [100.0, 40.0, 30.0, 25.0], "silhouette": [0.40, 0.55, 0.55, 0.30]}
    )
    k, why = clustering.choose_k(k_table, ClusteringConfig(k_min=3, k_max=6), profiles=1000)
    assert k == 4
    assert why == (
        "k = 4 has the highest silhouette (0.55) of the k from 3 to 6: its customers sit closest to their "
        "own cluster compared with the next one. The inertia curve also bends most there."
    )


def test_a_k_in_params_overrides_and_is_capped_by_distinct_profiles() -> None:
    k_table = pd.DataFrame({"k": [3], "inertia": [1.0], "silhouette": [0.9]})
    assert clustering.choose_k(k_table, ClusteringConfig(k=5), profiles=100) == (
        5,
        "k = 5 is set in params (clustering.k), so no search was made.",
    )
    k, why = clustering.choose_k(k_table, ClusteringConfig(k=5), profiles=2)
    assert k == 2 and "only 2 distinct profile(s), so k is capped at 2" in why


def test_fewer_customers_than_k_caps_the_range_and_explains() -> None:
    config = ClusteringConfig(k_min=3, k_max=8)
    assert clustering.candidate_ks(config, profiles=5) == [3, 4]
    assert clustering.candidate_ks(config, profiles=3) == []
    empty = pd.DataFrame(columns=["k", "inertia", "silhouette"])
    k, why = clustering.choose_k(empty, config, profiles=2)
    assert k == 2 and why.startswith(
        "The customers have only 2 distinct profile(s), too few to compare k values"
    )
    assert clustering.choose_k(empty, config, profiles=0) == (
        0,
        "There are no customers up to the end of this period, so there is nothing to cluster.",
    )


def test_names_come_from_the_centre_and_repeats_are_told_apart_by_spend() -> None:
    frame = blobs(5)
    features = clustering.define_features(frame, ClusteringConfig())
    centres = np.array([[1.0, -1.0, -1.0], [0.0, 0.2, 0.7], [-1.0, 1.0, 1.0]])
    assert clustering.cluster_names(centres, features) == [
        "dormant, one-off, low spend",
        "cooling, occasional, high spend",
        "recent, frequent, high spend",
    ]
    twins = np.array([[1.0, -1.0, -1.0], [0.9, -0.8, -0.6]])
    assert clustering.cluster_names(twins, features) == [
        "dormant, one-off, low spend (lower spend)",
        "dormant, one-off, low spend (higher spend)",
    ]
    triplets = np.array([[1.0, -1.0, -1.0], [0.9, -0.8, -0.6], [0.8, -0.9, -0.7]])
    assert clustering.cluster_names(triplets, features)[2] == "dormant, one-off, low spend (spend 3 of 3)"
    from helpers import labels

    assert (
        labels.cluster("dormant, one-off, low spend (spend 3 of 3)", "zh")
        == "久未购买、单次、低消费（消费第 3 档（共 3 档））"
    )
    assert labels.cluster("dormant, one-off, low spend (lower spend)", "zh").endswith("（消费较低）")


def test_names_of_text_and_other_features_in_words_and_in_chinese() -> None:
    from helpers import labels

    features = [
        clustering.Feature("region=West", "region", False, "West", 0.25, 0.5),
        clustering.Feature("engagement.sessions", "engagement.sessions", False, None, 10.0, 4.0),
    ]
    # West's share at the centre: 0.25 + 1.6 x 0.5 = 1.05 (over half: named); sessions 1.6 sd above.
    names = clustering.cluster_names(np.array([[1.6, 1.6], [-0.2, -1.0]]), features)
    assert names == ["region mostly West, high sessions", "low sessions"]
    assert labels.cluster(names[0], "zh") == "地区多为 West、访问次数高"
    assert (
        labels.cluster("top category mostly Outdoor, low income", "zh")
        == "最感兴趣的品类多为 Outdoor、income低"
    )


def test_numbering_follows_mean_spend_whatever_order_the_fit_returns() -> None:
    scaled = pd.DataFrame({"x": [0.0, 0.1, 5.0, 5.1, 10.0, 10.1]})
    spend = pd.Series([500.0, 500.0, 5.0, 5.0, 50.0, 50.0])
    centres = np.array([[0.05], [5.05], [10.05]])
    for permutation in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        ordered = clustering.order_centroids(centres[permutation], scaled, spend)
        assert ordered[:, 0].tolist() == [5.05, 10.05, 0.05]  # mean spend 5, 50, 500


def test_the_same_seed_gives_the_same_model_and_labels(con) -> None:
    frame = blobs()
    config = ClusteringConfig()
    features = clustering.define_features(frame, config)
    scaled = clustering.scaled_features(frame, features)
    first = clustering.fit_model(scaled, frame["monetary_total"], features, 3, 42, config)
    second = clustering.fit_model(scaled, frame["monetary_total"], features, 3, 42, config)
    np.testing.assert_array_equal(first.centroids, second.centroids)
    labels = con.execute(clustering.assign_clusters(ibis.memtable(frame), first))
    again = con.execute(clustering.assign_clusters(ibis.memtable(frame), second))
    assert labels.equals(again)
    # the blobs come out whole, numbered by spend (blob means 10, 100, 1000) and named from their centres
    assert labels["cluster"].tolist() == [0] * 60 + [1] * 60 + [2] * 60
    assert first.names == [
        "dormant, one-off, low spend",
        "cooling, occasional, mid spend",
        "recent, frequent, high spend",
    ]
    assert labels["cluster_name"].iloc[-1] == "recent, frequent, high spend"
    assert labels["customer_id"].is_monotonic_increasing


def test_choice_of_k_on_three_blobs_finds_three_and_refits_agree() -> None:
    frame = blobs()
    config = ClusteringConfig(k_min=2, k_max=5, stability_runs=3)
    features = clustering.define_features(frame, config)
    scaled = clustering.scaled_features(frame, features)
    profiles = clustering.distinct_profiles(scaled)
    assert profiles == 180
    k_table = clustering.evaluate_k(
        scaled, clustering.candidate_ks(config, profiles), 42, 100, config.minibatch_above
    )
    assert k_table["k"].tolist() == [2, 3, 4, 5]
    assert (k_table["inertia"].diff().dropna() < 0).all()
    k, _ = clustering.choose_k(k_table, config, profiles)
    assert k == 3
    model = clustering.fit_model(scaled, frame["monetary_total"], features, k, 42, config)
    runs = clustering.stability(scaled, model, 42, config)
    assert runs["seed"].tolist() == [43, 44] and runs["adjusted_rand_index"].tolist() == [1.0, 1.0]
    assert clustering.stability_sentence(runs).startswith(
        "Refitting with 2 other seeds gives an adjusted Rand index of 1.000 to 1.000"
    )


def test_fixed_seed_samples_are_sorted_repeatable_and_whole_when_small() -> None:
    sample = clustering.sample_positions(1000, 10, seed=3)
    assert len(sample) == 10 and len(set(sample)) == 10 and list(sample) == sorted(sample)
    assert sample.tolist() == clustering.sample_positions(1000, 10, seed=3).tolist()
    assert sample.tolist() != clustering.sample_positions(1000, 10, seed=4).tolist()
    assert clustering.sample_positions(5, 10, seed=3).tolist() == [0, 1, 2, 3, 4]


def test_large_inputs_are_fitted_on_a_sample_and_minibatch_is_used_above_its_threshold(con) -> None:
    assert isinstance(clustering.make_kmeans(3, 1, rows=2_000, minibatch_above=1_000), MiniBatchKMeans)
    chosen = clustering.make_kmeans(3, 1, rows=1_000, minibatch_above=1_000)
    assert isinstance(chosen, KMeans) and chosen.n_init == 10
    assert clustering.make_kmeans(3, 1, rows=2_000, minibatch_above=1_000).n_init == 10
    frame = blobs(per_blob=500)  # 1,500 customers
    config = ClusteringConfig(fit_sample_above=1_000, minibatch_above=1_000)
    features = clustering.define_features(frame, config)
    scaled = clustering.scaled_features(frame, features)
    model = clustering.fit_model(scaled, frame["monetary_total"], features, 3, 42, config)
    assert (model.fitted_rows, model.algorithm) == (1_000, "KMeans")
    assert "a fixed-seed sample of 1,000 of them" in clustering.model_sentence(model, len(frame))
    labels = con.execute(clustering.assign_clusters(ibis.memtable(frame), model))
    assert len(labels) == 1_500 and labels["cluster"].tolist() == [0] * 500 + [1] * 500 + [2] * 500


def test_profiles_and_crosstab_by_hand() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "recency_days": [10, 30, 400, 500],
            "frequency_orders": [5, 3, 1, 1],
            "monetary_total": [300.0, 100.0, 20.0, 80.0],
            "segment": ["Champions", "Loyal Customers", "Lost", "Lost"],
        }
    )
    features = clustering.define_features(customers, ClusteringConfig())
    model = clustering.ClusterModel(
        features, np.array([[1.0, -1.0, -1.0], [-1.0, 1.0, 1.0]]), ["dormant", "recent"], "KMeans", 4
    )
    clusters = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "cluster": [1, 1, 0, 0],
            "cluster_name": ["recent", "recent", "dormant", "dormant"],
        }
    )
    profiles = clustering.cluster_profiles(clusters, customers, model).set_index("cluster")
    assert profiles["customers"].tolist() == [2, 2] and profiles["revenue"].tolist() == [100.0, 400.0]
    assert profiles["share_of_revenue_%"].tolist() == [20.0, 80.0]
    means = ["mean_recency_days", "mean_frequency_orders", "mean_monetary_total"]
    assert profiles.loc[1, means].tolist() == [20.0, 4.0, 200.0]
    assert profiles["centre: monetary_total (log)"].tolist() == [-1.0, 1.0]
    cross = clustering.segment_crosstab(
        clusters, customers, ["Champions", "Loyal Customers", "Lost"], model.names
    )
    assert cross.to_dict("index") == {
        "dormant": {"Champions": 0, "Loyal Customers": 0, "Lost": 2},
        "recent": {"Champions": 1, "Loyal Customers": 1, "Lost": 0},
    }


def test_no_customers_or_one_profile_give_messages_not_errors(con) -> None:
    config = ClusteringConfig()
    for frame in (blobs(1).iloc[:0], blobs(1).iloc[:1]):
        features = clustering.define_features(frame, config)
        scaled = clustering.scaled_features(frame, features)
        profiles = clustering.distinct_profiles(scaled)
        ks = clustering.candidate_ks(config, profiles)
        k_table = clustering.evaluate_k(scaled, ks, 42, 100, config.minibatch_above)
        k, why = clustering.choose_k(k_table, config, profiles)
        model = clustering.fit_model(scaled, frame["monetary_total"], features, k, 42, config)
        clusters = con.execute(clustering.assign_clusters(ibis.memtable(frame), model))
        assert clustering.cluster_profiles(clusters, frame, model)["customers"].sum() == len(frame)
        assert clustering.stability(scaled, model, 42, config).empty
        points, _ = clustering.projection_2d(scaled, clusters["cluster_name"], 100, 42)
        assert points.empty
        clustering.segment_crosstab(clusters, frame, ["Lost"], model.names)
        if len(frame) == 0:
            assert (k, model.k, len(clusters)) == (0, 0, 0) and "nothing to cluster" in why
            assert clustering.model_sentence(model, 0) == "No clusters: there are no customers."
        else:
            assert (k, model.k) == (1, 1)
            assert (clusters["cluster"].tolist(), clusters["cluster_name"].tolist()) == (
                [0],
                ["all customers"],
            )


def test_customer_table_joins_attribute_features_and_names_a_missing_one(tmp_path: Path, con) -> None:
    rfm_path = io.write_parquet(blobs(1), tmp_path / "03_rfm.parquet")
    attributes = io.write_parquet(
        pd.DataFrame({"customer_id": ["c0002", "c0000"], "region": ["south", "north"]}),
        tmp_path / "01_customers.parquet",
    )
    table = clustering.customer_table(con, rfm_path, attributes, [*RFM, "region"])
    frame = con.execute(table)
    assert frame["customer_id"].tolist() == ["c0000", "c0001", "c0002"]
    assert (frame["region"].iloc[0], frame["region"].iloc[2]) == ("north", "south")
    assert pd.isna(frame["region"].iloc[1])
    with pytest.raises(
        KeyError, match=r"features names \['age'\], which are neither columns of 03_rfm.parquet"
    ):
        clustering.customer_table(con, rfm_path, attributes, [*RFM, "age"])


def test_projection_is_repeatable_and_explains_most_variance_first() -> None:
    frame = blobs()
    features = clustering.define_features(frame, ClusteringConfig())
    scaled = clustering.scaled_features(frame, features)
    names = pd.Series(["x"] * len(frame))
    points, explained = clustering.projection_2d(scaled, names, 50, 42)
    again, _ = clustering.projection_2d(scaled, names, 50, 42)
    assert len(points) == 50 and points.equals(again)
    assert explained[0] > explained[1] > 0 and sum(explained) <= 1.0 + 1e-9


def test_silhouette_from_one_distance_matrix_equals_sklearns() -> None:
    from sklearn.metrics import pairwise_distances, silhouette_score

    rng = np.random.default_rng(5)
    points = np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(4, 1, (50, 3)), [[9.0, 9.0, 9.0]]])
    points = np.vstack([points, points[:5]])  # exact duplicates: zero distances
    distances = pairwise_distances(points)
    for labels in (
        np.repeat([0, 1, 2], [60, 50, 6]),
        rng.integers(0, 4, len(points)),
        np.r_[np.zeros(115, int), 7],
    ):  # the last one: a cluster of one point (scores 0)
        assert clustering.silhouette_from_distances(distances, labels) == pytest.approx(
            silhouette_score(points, labels), abs=1e-12
        )
    assert np.isnan(clustering.silhouette_from_distances(distances, np.zeros(len(points), int)))


def test_customer_table_joins_features_of_the_other_products(tmp_path: Path, con) -> None:
    rfm_path = io.write_parquet(blobs(1), tmp_path / "03_rfm.parquet")
    engagement = io.write_parquet(
        pd.DataFrame({"customer_id": ["c0001"], "sessions": [7], "top_category": ["Books"]}),
        tmp_path / "04_engagement.parquet",
    )
    voice = io.write_parquet(
        pd.DataFrame({"customer_id": ["c0002"], "latest_nps": [9.0]}), tmp_path / "05_voice.parquet"
    )
    attributes = io.write_parquet(
        pd.DataFrame({"customer_id": ["c0000"], "region": ["West"]}), tmp_path / "02_customers.parquet"
    )
    features = [*RFM, "engagement.sessions", "engagement.top_category"]
    # Two products and an attribute joined one after the other (once failed: 'customer_id_right').
    table = clustering.customer_table(
        con,
        rfm_path,
        attributes,
        [*features, "voice.latest_nps", "region"],
        {"engagement": engagement, "voice": voice},
    )
    frame = con.execute(table)
    assert frame["engagement.sessions"].tolist()[1] == 7 and frame["engagement.sessions"].isna().sum() == 2
    assert frame["engagement.top_category"].tolist()[1] == "Books"
    assert frame["voice.latest_nps"].tolist()[2] == 9.0 and frame["region"].tolist()[0] == "West"
    assert frame.columns.tolist()[-3:] == ["engagement.top_category", "voice.latest_nps", "region"]
    assert frame["customer_id"].tolist() == ["c0000", "c0001", "c0002"]
    frame = frame.drop(columns=["voice.latest_nps", "region"])
    # Text features become one 0/1 input per value; a customer without a value counts as the average.
    config = ClusteringConfig(features=features, log_features=RFM)
    names = [feature.name for feature in clustering.define_features(frame, config)]
    assert names[-2:] == ["engagement.sessions", "engagement.top_category=Books"]
    with pytest.raises(KeyError, match=r"\['voice.latest_nps'\]"):
        clustering.customer_table(con, rfm_path, None, [*RFM, "voice.latest_nps"], {"voice": None})
