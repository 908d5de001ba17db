"""Stage 08: k-means clusters of customers on scaled features, fitted small and assigned big.

- Features come from params (default: recency, frequency and monetary value, each through
  sign(x)·ln(1 + |x|) because their tails are long), then are centred and scaled to unit variance.
  Text attributes become one 0/1 feature per value. Missing values count as the average (0 after scaling).
- k is chosen over a range by silhouette on a fixed-seed sample (its cost grows with the square of the
  rows); the inertia curve and its elbow are shown next to it. A k in params overrides the search.
- Above ``fit_sample_above`` customers the model is fitted on a fixed-seed sample, and every customer is
  assigned to the nearest centre by :func:`nearest_centroid_expression`, an engine (Ibis) expression.
- Numbering is deterministic: cluster 0 has the lowest mean ``monetary_total``, the highest number the
  highest. Names come from the centre's profile ("recent, frequent, high spend") and are unique.

Fits run single-threaded: on customer tables OpenMP threads cost more than they save (23k x 3, k=5:
0.28 s on one thread, 1.85 s on two, on the 2-core reference machine) and results do not change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from helpers import io
from helpers.config import ClusteringConfig

PROFILE_METRICS = ["recency_days", "frequency_orders", "monetary_total"]
ORDER_BY = "monetary_total"  # clusters are numbered by the mean of this column, 0 = lowest
HIGH, LOW = 0.5, -0.5  # a centre this many standard deviations above / below the mean is "high" / "low"
WORDS = {  # feature -> words for (low, middle, high) centre values
    "recency_days": ("recent", "cooling", "dormant"),  # never a status word (helpers.status)
    "frequency_orders": ("one-off", "occasional", "frequent"),
    "monetary_total": ("low spend", "mid spend", "high spend"),
}
ALL_CUSTOMERS = "all customers"


@dataclass(frozen=True)
class Feature:
    """One model input: a source column, optionally log-transformed or compared with a text value,
    then centred and scaled. The same definition runs in pandas (:func:`scaled_features`) and in the
    engine (:func:`scaled_expressions`)."""

    name: str
    column: str
    log: bool
    equals: str | None  # text attribute: 1.0 where the column equals this value, else 0.0
    center: float
    scale: float


@dataclass(frozen=True)
class ClusterModel:
    """Centres in scaled units, numbered (row i is cluster i) and named, with how they were fitted."""

    features: list[Feature]
    centroids: np.ndarray
    names: list[str]
    algorithm: str
    fitted_rows: int

    @property
    def k(self) -> int:
        return len(self.centroids)


# ----------------------------------------------------------------------------------- features


def _left_join_by_id(table: ir.Table, extra: ir.Table) -> ir.Table:
    """``table`` with ``extra``'s columns beside it by ``customer_id`` (missing where ``extra`` lacks the
    customer), one ``customer_id`` kept, so that several products can be joined one after the other."""
    added = [c for c in extra.columns if c != "customer_id"]
    joined = table.left_join(extra, "customer_id")
    return joined.select(*[joined[c] for c in table.columns], *[joined[c] for c in added])


def customer_table(
    con: ibis.BaseBackend,
    rfm_path: Path,
    customers_path: Path | None,
    features: list[str],
    others: dict[str, Path | None] | None = None,
) -> ir.Table:
    """``customer_id``, the profile metrics, the segment and every feature column, one row per customer
    sorted by id (an engine table); attribute features are joined from the ingested customer attributes,
    and ``<product>.<column>`` features from the per-customer products in ``others`` (engagement: stage
    04, voice: 05; a customer the product does not list has the feature missing). A feature found nowhere
    is an error naming it and the columns that exist."""
    rfm = io.read_table(con, rfm_path)
    table = rfm
    for product, path in (others or {}).items():
        wanted = [f for f in features if f.partition(".")[0] == product and f not in rfm.columns]
        if wanted and path is not None and Path(path).is_file():
            extra = io.read_table(con, path)
            found = [f for f in wanted if f.partition(".")[2] in extra.columns]
            if found:
                columns = {f: extra[f.partition(".")[2]] for f in found}
                table = _left_join_by_id(table, extra.select("customer_id", **columns))
    missing = [f for f in features if f not in table.columns]
    if missing and customers_path is not None and Path(customers_path).is_file():
        attributes = io.read_table(con, customers_path)
        joined = [f for f in missing if f in attributes.columns]
        if joined:
            extra = attributes.select(attributes.customer_id.cast("string").name("customer_id"), *joined)
            table = _left_join_by_id(table, extra)
        missing = [f for f in missing if f not in joined]
    if missing:
        raise KeyError(
            f"clustering.features names {missing}, which are neither columns of {Path(rfm_path).name} "
            f"nor customer attributes; use some of {sorted(rfm.columns)}."
        )
    wanted = list(dict.fromkeys(["customer_id", *PROFILE_METRICS, "segment", *features]))
    return table.select(*[c for c in wanted if c in table.columns]).order_by("customer_id")


def _signed_log(values: pd.Series) -> pd.Series:
    return np.sign(values) * np.log1p(values.abs())


def define_features(customers: pd.DataFrame, config: ClusteringConfig) -> list[Feature]:
    """The model inputs with their centre and scale learnt from these customers: numeric columns as they
    are (or through the signed log), text columns as one 0/1 input per value. A constant input keeps
    scale 1 so it never divides by zero."""
    features: list[Feature] = []
    for column in config.features:
        values = customers[column]
        if values.dtype.kind in "biuf":
            numbers = values.astype(float)
            log = column in config.log_features
            transformed = _signed_log(numbers) if log else numbers
            features.append(_feature(f"{column} (log)" if log else column, column, log, None, transformed))
        else:
            for value in sorted(values.dropna().astype(str).unique()):
                indicator = (values.astype(str) == value).astype(float).where(values.notna(), 0.0)
                features.append(_feature(f"{column}={value}", column, False, value, indicator))
    return features


def _feature(name: str, column: str, log: bool, equals: str | None, values: pd.Series) -> Feature:
    center = float(values.mean()) if values.notna().any() else 0.0
    spread = float(values.std(ddof=0)) if values.notna().sum() > 1 else 0.0
    return Feature(name, column, log, equals, center, spread if spread > 0 and math.isfinite(spread) else 1.0)


def scaled_features(customers: pd.DataFrame, features: list[Feature]) -> pd.DataFrame:
    """The scaled inputs (mean 0, standard deviation 1), one column per feature, same rows as given."""
    columns = {}
    for feature in features:
        raw = customers[feature.column]
        if feature.equals is not None:
            values = (raw.astype(str) == feature.equals).astype(float).where(raw.notna(), 0.0)
        else:
            values = raw.astype(float)
            values = _signed_log(values) if feature.log else values
        columns[feature.name] = (values.fillna(feature.center) - feature.center) / feature.scale
    return pd.DataFrame(columns, index=customers.index)


def scaled_expressions(table: ir.Table, features: list[Feature]) -> list[ir.FloatingValue]:
    """The same scaled inputs as engine expressions on a table holding the source columns."""
    expressions = []
    for feature in features:
        column = table[feature.column]
        if feature.equals is not None:
            value = ibis.ifelse(column.cast("string") == feature.equals, 1.0, 0.0).fill_null(0.0)
        else:
            value = column.cast("float64")
            value = value.sign() * (value.abs() + 1.0).ln() if feature.log else value
            value = value.fill_null(feature.center)
        expressions.append((value - feature.center) / feature.scale)
    return expressions


def distinct_profiles(scaled: pd.DataFrame) -> int:
    """How many different customers the model can tell apart: distinct rows of the scaled inputs."""
    return int(len(scaled.round(9).drop_duplicates()))


def sample_positions(n_rows: int, size: int, seed: int) -> np.ndarray:
    """Row positions of a fixed-seed sample of ``size`` rows, ascending (all rows when there are fewer)."""
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


def feature_table(features: list[Feature]) -> pd.DataFrame:
    """The model inputs in words: source column, transformation, and the mean and standard deviation
    used to scale them (for the page)."""
    return pd.DataFrame(
        {
            "feature": [f.name for f in features],
            "source column": [f.column for f in features],
            "transformation": [
                f"1 if {f.column} is {f.equals}, else 0"
                if f.equals is not None
                else "sign(x)·ln(1 + |x|)"
                if f.log
                else "none"
                for f in features
            ],
            "mean": [f.center for f in features],
            "standard deviation": [f.scale for f in features],
        }
    )


def fitting_rows(scaled: pd.DataFrame, config: ClusteringConfig, seed: int) -> pd.DataFrame:
    """The rows k-means is fitted on: every customer, or a fixed-seed sample of ``fit_sample_above``."""
    return scaled.iloc[sample_positions(len(scaled), config.fit_sample_above, seed)]


# ------------------------------------------------------------------------------------ choice of k


def candidate_ks(config: ClusteringConfig, profiles: int) -> list[int]:
    """The k values to compare: the params range, capped so that every cluster can hold a different
    customer profile and silhouette stays defined (k <= profiles - 1)."""
    return list(range(config.k_min, min(config.k_max, profiles - 1) + 1))


FINAL_STARTS = 10  # k-means starts of the model that is kept
SEARCH_STARTS = 3  # starts per k while comparing k: the inertia of 3 k-means++ starts is within 0.1% of 10


def make_kmeans(
    k: int, seed: int, rows: int, minibatch_above: int, starts: int = FINAL_STARTS
) -> KMeans | MiniBatchKMeans:
    """KMeans with ``starts`` starts, or MiniBatchKMeans with as many above ``minibatch_above`` fitted
    rows (its default single start fits about 40% worse)."""
    if rows > minibatch_above:
        return MiniBatchKMeans(n_clusters=k, n_init=starts, random_state=seed, batch_size=4096)
    return KMeans(n_clusters=k, n_init=starts, random_state=seed)


def evaluate_k(
    scaled_fit: pd.DataFrame, ks: list[int], seed: int, silhouette_sample: int, minibatch_above: int
) -> pd.DataFrame:
    """Inertia (within-cluster sum of squares, on the fitted rows) and silhouette (on one fixed-seed
    sample of at most ``silhouette_sample`` rows, the same for every k) for each k. Each k gets
    ``SEARCH_STARTS`` starts (a third of the cost; the chosen k is then fitted with ``FINAL_STARTS``)."""
    matrix = scaled_fit.to_numpy()
    sample = matrix[sample_positions(len(matrix), silhouette_sample, seed)]
    # The same sample for every k: its distances are computed once (scipy's direct formula: 5,000 rows
    # in 0.16 s, against 0.42 s for sklearn's chunked dot-product form, and exact to the last bits).
    distances = cdist(sample, sample) if len(sample) and ks else np.zeros((len(sample), len(sample)))
    rows = []
    with threadpool_limits(1):
        for k in ks:
            model = make_kmeans(k, seed, len(matrix), minibatch_above, SEARCH_STARTS).fit(matrix)
            silhouette = silhouette_from_distances(distances, model.predict(sample))
            rows.append({"k": k, "inertia": float(model.inertia_), "silhouette": silhouette})
    return pd.DataFrame(rows, columns=["k", "inertia", "silhouette"])


def silhouette_from_distances(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (as sklearn's silhouette_score) from a precomputed distance matrix: one matrix
    product gives every point's summed distance to each cluster, so trying several k on one sample
    costs one distance matrix instead of one per k (5,000 points, k = 3..8: 3.6 s -> 0.6 s).
    NaN with fewer than two clusters; a point alone in its cluster scores 0."""
    codes, labels = np.unique(labels, return_inverse=True)
    if len(codes) < 2:
        return float("nan")
    members = np.zeros((len(labels), len(codes)))
    members[np.arange(len(labels)), labels] = 1.0
    sizes = members.sum(axis=0)
    mean_to = (distances @ members) / sizes  # mean distance from each point to each cluster
    own = np.arange(len(labels)), labels
    own_size = sizes[labels]
    within = np.where(own_size > 1, mean_to[own] * own_size / np.maximum(own_size - 1, 1), 0.0)
    mean_to[own] = np.inf
    nearest = mean_to.min(axis=1)
    scores = np.where(own_size > 1, (nearest - within) / np.maximum(nearest, within), 0.0)
    return float(np.nan_to_num(scores).mean())


def elbow_k(k_table: pd.DataFrame) -> int | None:
    """Where the inertia curve bends most: the k farthest below the straight line from the first to the
    last point, both axes scaled to 0-1 (None with fewer than three k)."""
    if len(k_table) < 3:
        return None
    x = k_table["k"].to_numpy(float)
    y = k_table["inertia"].to_numpy(float)
    x = (x - x[0]) / (x[-1] - x[0])
    y = (y - y[-1]) / (y[0] - y[-1]) if y[0] != y[-1] else np.zeros_like(y)
    below_chord = (1 - x) - y  # the chord runs from (0, 1) to (1, 0)
    return int(k_table["k"].iloc[int(np.argmax(below_chord))])


def choose_k(k_table: pd.DataFrame, config: ClusteringConfig, profiles: int) -> tuple[int, str]:
    """The k to use and one sentence saying why: the k in params if set (capped at the number of
    distinct profiles), else the best silhouette (ties: the smaller k)."""
    if profiles == 0:
        return 0, "There are no customers up to the end of this period, so there is nothing to cluster."
    if config.k is not None:
        if config.k > profiles:
            return profiles, (
                f"k = {config.k} is set in params (clustering.k), but the customers have only {profiles} "
                f"distinct profile(s), so k is capped at {profiles}."
            )
        return config.k, f"k = {config.k} is set in params (clustering.k), so no search was made."
    valid = k_table.dropna(subset=["silhouette"])
    if valid.empty:
        k = min(profiles, config.k_min)
        return k, (
            f"The customers have only {profiles} distinct profile(s), too few to compare k values "
            f"between {config.k_min} and {config.k_max}, so k = {k}."
        )
    best = valid.sort_values(["silhouette", "k"], ascending=[False, True], kind="mergesort").iloc[0]
    k = int(best["k"])
    tried = f"{int(valid['k'].min())} to {int(valid['k'].max())}"
    sentence = (
        f"k = {k} has the highest silhouette ({best['silhouette']:.2f}) of the k from {tried}: its customers "
        "sit closest to their own cluster compared with the next one."
    )
    if int(valid["k"].max()) < config.k_max:
        sentence += (
            f" k above {int(valid['k'].max())} was not tried: only {profiles} distinct customer profiles."
        )
    elbow = elbow_k(k_table)
    if elbow is not None:
        sentence += (
            " The inertia curve also bends most there."
            if elbow == k
            else f" The inertia curve bends most at k = {elbow}, a "
            f"{'simpler' if elbow < k else 'finer'} alternative if fewer or more groups suit the use better."
        )
    return k, sentence


# -------------------------------------------------------------------------------------- fitting


def fit_centroids(
    scaled_fit: pd.DataFrame, k: int, seed: int, minibatch_above: int
) -> tuple[np.ndarray, str]:
    """Cluster centres (scaled units, in the fitting algorithm's own order) and the algorithm's name."""
    matrix = scaled_fit.to_numpy()
    model = make_kmeans(k, seed, len(matrix), minibatch_above)
    with threadpool_limits(1):
        model.fit(matrix)
    return model.cluster_centers_, type(model).__name__


def nearest_centroid(scaled: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """For each row, the position of the nearest centre (squared Euclidean distance; ties: the lower
    position), in numpy."""
    if len(centroids) == 0:
        return np.zeros(len(scaled), dtype=int)
    distances = ((scaled[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)


def nearest_centroid_expression(
    table: ir.Table, features: list[Feature], centroids: np.ndarray
) -> ir.IntegerValue:
    """The same assignment as an engine expression: scaled inputs, squared distance to each centre,
    the position of the smallest (ties: the lower position)."""
    if len(centroids) <= 1:
        return ibis.literal(0, type="int64")
    inputs = scaled_expressions(table, features)
    distances = [sum((value - float(c)) ** 2 for value, c in zip(inputs, centre)) for centre in centroids]
    smallest = ibis.least(*distances)
    return ibis.cases(*[(distance == smallest, i) for i, distance in enumerate(distances)], else_=0).cast(
        "int64"
    )


def order_centroids(centroids: np.ndarray, scaled_fit: pd.DataFrame, order_values: pd.Series) -> np.ndarray:
    """The centres renumbered by the mean of ``order_values`` (monetary_total) of their members, lowest
    first; ties by the centre coordinates, so the numbering never depends on the fitting order."""
    labels = nearest_centroid(scaled_fit.to_numpy(), centroids)
    means = [
        float(order_values.to_numpy()[labels == i].mean()) if (labels == i).any() else -math.inf
        for i in range(len(centroids))
    ]
    order = sorted(range(len(centroids)), key=lambda i: (means[i], tuple(centroids[i])))
    return centroids[order]


def feature_words(column: str) -> str:
    """A feature's column in words for a cluster name: "engagement.top_category" -> "top category"."""
    return column.rpartition(".")[2].replace("_", " ")


def cluster_names(centroids: np.ndarray, features: list[Feature]) -> list[str]:
    """A readable name per centre from its profile, e.g. "recent, frequent, high spend"; features at
    neither end are named only for recency, frequency and spend. Repeated names are told apart by their
    members' spend (the centres are numbered by it, lowest first): "(lower spend)" and "(higher spend)",
    or "(spend 2 of 3)"; never by an internal number, which means nothing to a reader."""
    names = []
    for centre in centroids:
        words = []
        for feature, value in zip(features, centre):
            level = 0 if value <= LOW else 2 if value >= HIGH else 1
            if feature.column in WORDS and feature.equals is None:
                words.append(WORDS[feature.column][level])
            elif feature.equals is not None:
                share = feature.center + value * feature.scale
                if share >= 0.5:
                    words.append(f"{feature_words(feature.column)} mostly {feature.equals}")
            elif level != 1:
                words.append(f"{('low', '', 'high')[level]} {feature_words(feature.column)}")
        names.append(", ".join(words) or "average")
    named = []
    for i, name in enumerate(names):
        twins = [j for j, other in enumerate(names) if other == name]
        if len(twins) == 1:
            named.append(name)
            continue
        rank = twins.index(i) + 1
        suffix = (
            ("lower spend", "higher spend")[rank - 1] if len(twins) == 2 else f"spend {rank} of {len(twins)}"
        )
        named.append(f"{name} ({suffix})")
    return named


def fit_model(
    scaled: pd.DataFrame,
    order_values: pd.Series,
    features: list[Feature],
    k: int,
    seed: int,
    config: ClusteringConfig,
) -> ClusterModel:
    """Fit k-means on the fixed-seed fitting sample (every customer up to ``fit_sample_above``), number
    the centres by mean spend and name them. k 0 or 1 gives a single group without fitting."""
    positions = sample_positions(len(scaled), config.fit_sample_above, seed)
    if k <= 1 or len(scaled) == 0:
        centre = np.zeros((1 if len(scaled) else 0, len(features)))
        return ClusterModel(
            features, centre, [ALL_CUSTOMERS] * len(centre), "none (one group)", len(positions)
        )
    fit_rows = scaled.iloc[positions]
    centroids, algorithm = fit_centroids(fit_rows, k, seed, config.minibatch_above)
    ordered = order_centroids(centroids, fit_rows, order_values.iloc[positions])
    return ClusterModel(features, ordered, cluster_names(ordered, features), algorithm, len(positions))


def model_sentence(model: ClusterModel, customers: int) -> str:
    """How the model was fitted and applied, in one sentence."""
    if model.k == 0:
        return "No clusters: there are no customers."
    if model.k == 1:
        return f"All {customers:,} customers form a single group; no model was fitted."
    fitted = (
        "all of them"
        if model.fitted_rows == customers
        else f"a fixed-seed sample of {model.fitted_rows:,} of them, every customer then going to the "
        "nearest centre"
    )
    return (
        f"{model.algorithm} with k = {model.k} ({FINAL_STARTS} starts) was fitted on {customers:,} "
        f"customers, {fitted}. "
        "Clusters are numbered by mean spend, 0 = lowest."
    )


def assign_clusters(table: ir.Table, model: ClusterModel) -> ir.Table:
    """Every customer of ``table`` with ``cluster`` (int) and ``cluster_name``, by nearest centre, as an
    engine expression sorted by customer id."""
    cluster = nearest_centroid_expression(table, model.features, model.centroids)
    name = (
        ibis.cases(*[(cluster == i, n) for i, n in enumerate(model.names)], else_=ibis.null("string"))
        if model.k
        else ibis.null("string")
    )
    return table.select("customer_id", cluster=cluster, cluster_name=name).order_by("customer_id")


# ------------------------------------------------------------------------------------- describing


def cluster_profiles(clusters: pd.DataFrame, customers: pd.DataFrame, model: ClusterModel) -> pd.DataFrame:
    """One row per cluster: size and share, share of revenue, mean recency/frequency/monetary, and the
    centre in scaled units (``centre: <feature>``)."""
    joined = clusters.merge(customers[["customer_id", *PROFILE_METRICS]], on="customer_id", how="left")
    grouped = joined.groupby("cluster").agg(
        customers=("customer_id", "size"),
        revenue=("monetary_total", "sum"),
        mean_recency_days=("recency_days", "mean"),
        mean_frequency_orders=("frequency_orders", "mean"),
        mean_monetary_total=("monetary_total", "mean"),
    )
    table = pd.DataFrame({"cluster": range(model.k), "cluster_name": model.names}).join(grouped, on="cluster")
    table["customers"] = table["customers"].fillna(0).astype("int64")
    table["revenue"] = table["revenue"].fillna(0.0)
    total_customers, total_revenue = table["customers"].sum(), table["revenue"].sum()
    table.insert(
        3, "share_of_customers_%", 100.0 * table["customers"] / total_customers if total_customers else 0.0
    )
    table.insert(5, "share_of_revenue_%", 100.0 * table["revenue"] / total_revenue if total_revenue else 0.0)
    for i, feature in enumerate(model.features):
        table[f"centre: {feature.name}"] = model.centroids[:, i] if model.k else []
    return table


PAGE_COLUMNS = {  # cluster profile column -> heading on the page
    "cluster": "cluster",
    "cluster_name": "name",
    "customers": "customers",
    "share_of_customers_%": "% of customers",
    "revenue": "revenue",
    "share_of_revenue_%": "% of revenue",
    "mean_recency_days": "avg days since last order",
    "mean_frequency_orders": "avg orders",
    "mean_monetary_total": "avg spend",
}


def profiles_for_page(profiles: pd.DataFrame) -> pd.DataFrame:
    """The profile table with short readable headings; the centres are shown in the radar chart."""
    return profiles[list(PAGE_COLUMNS)].rename(columns=PAGE_COLUMNS)


def centre_table(model: ClusterModel) -> pd.DataFrame:
    """Centres in scaled units, one row per cluster name and one column per feature (for the radar chart)."""
    return pd.DataFrame(model.centroids, index=model.names, columns=[f.name for f in model.features])


def stability(scaled: pd.DataFrame, model: ClusterModel, seed: int, config: ClusteringConfig) -> pd.DataFrame:
    """Adjusted Rand index between this model's clusters and those of refits with seeds seed+1, ...
    (each with its own fitting sample), on the fitting rows: 1 = the same grouping, 0 = chance."""
    positions = sample_positions(len(scaled), config.fit_sample_above, seed)
    matrix = scaled.to_numpy()[positions]
    if model.k <= 1:
        return pd.DataFrame({"seed": [], "adjusted_rand_index": []})
    reference = nearest_centroid(matrix, model.centroids)
    rows = []
    for run in range(1, config.stability_runs):
        run_seed = seed + run
        run_positions = sample_positions(len(scaled), config.fit_sample_above, run_seed)
        centroids, _ = fit_centroids(scaled.iloc[run_positions], model.k, run_seed, config.minibatch_above)
        labels = nearest_centroid(matrix, centroids)
        rows.append({"seed": run_seed, "adjusted_rand_index": float(adjusted_rand_score(reference, labels))})
    return pd.DataFrame(rows)


def stability_sentence(runs: pd.DataFrame) -> str:
    """One sentence on how much the grouping depends on the random start."""
    if runs.empty:
        return "With fewer than two clusters there is nothing to compare between runs."
    low, high = runs["adjusted_rand_index"].min(), runs["adjusted_rand_index"].max()
    verdict = (
        "the grouping does not depend on the random start"
        if low >= 0.9
        else "the grouping is fairly stable"
        if low >= 0.7
        else "the grouping changes noticeably with the random start; read the clusters as tendencies"
    )
    return (
        f"Refitting with {len(runs)} other seeds gives an adjusted Rand index of {low:.3f} to {high:.3f} "
        f"against "
        f"this grouping (1 = identical, 0 = no better than chance): {verdict}."
    )


def projection_2d(
    scaled: pd.DataFrame, clusters: pd.Series, size: int, seed: int
) -> tuple[pd.DataFrame, list[float]]:
    """The first two principal components of a fixed-seed sample of customers, with their cluster
    name, and the share of variance each component explains."""
    positions = sample_positions(len(scaled), size, seed)
    sample = scaled.iloc[positions].to_numpy()
    if len(sample) < 2:
        return pd.DataFrame({"pc1": [], "pc2": [], "cluster_name": []}), [0.0, 0.0]
    components = min(2, sample.shape[1])
    pca = PCA(n_components=components, random_state=seed).fit(sample)
    points = pca.transform(sample)
    explained = [float(v) for v in pca.explained_variance_ratio_]
    if components == 1:
        points, explained = np.column_stack([points[:, 0], np.zeros(len(points))]), explained + [0.0]
    return pd.DataFrame(
        {"pc1": points[:, 0], "pc2": points[:, 1], "cluster_name": clusters.iloc[positions].to_numpy()}
    ), explained


def segment_crosstab(
    clusters: pd.DataFrame, customers: pd.DataFrame, segment_order: list[str], names: list[str]
) -> pd.DataFrame:
    """Customers by cluster (rows, in cluster order) and RFM segment (columns, in rule order)."""
    joined = clusters.merge(customers[["customer_id", "segment"]], on="customer_id", how="left")
    table = pd.crosstab(joined["cluster_name"], joined["segment"])
    table = (
        table.reindex(
            index=[n for n in names if n in table.index],
            columns=[s for s in segment_order if s in table.columns],
        )
        .fillna(0)
        .astype("int64")
    )
    table.index.name, table.columns.name = "cluster", "RFM segment"
    return table
